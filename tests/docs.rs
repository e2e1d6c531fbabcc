//! What the README and the config template tell an administrator setting up the JWT app: the scope
//! of each API switchboard calls, as the code's catalogue (Kore's API list) has it.

use switchboard::api::KoreApi;
use switchboard::config::TEMPLATE;

#[test]
fn the_readme_and_the_template_name_the_scope_each_api_needs() {
    let readme = include_str!("../README.md");
    for api in KoreApi::ALL {
        let (name, scope) = (api.name(), api.scope().name());
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with("   | ") && l.contains(name) && l.contains(scope)),
            "README has no scope row for {name} ({scope})"
        );
        assert!(
            TEMPLATE
                .lines()
                .any(|l| l.starts_with("#") && l.contains(name) && l.contains(scope)),
            "the config template does not say {name} needs {scope}"
        );
    }
}

#[test]
fn the_readme_channel_table_is_the_one_the_spread_uses() {
    let readme = include_str!("../README.md");
    for (kind, channels) in switchboard::plan::spread::CHANNEL_KINDS {
        let row = format!("| {kind} | {} |", channels.join(", "));
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
}
