//! `ui/src/bindings.ts`, generated from the IPC types. A test compares the
//! committed file with [`render`]; `VENTANILLA_UPDATE_BINDINGS=1 cargo test`
//! rewrites it.

use ts_rs::{Config, TS};

use crate::ipc::*;

/// The whole bindings file.
pub fn render() -> String {
    let cfg = Config::default();
    let decls = [
        Lang::decl(&cfg),
        CommandError::decl(&cfg),
        FieldErrorDto::decl(&cfg),
        AppInfo::decl(&cfg),
        DemoClerk::decl(&cfg),
        RoleDto::decl(&cfg),
        ClerkSessionDto::decl(&cfg),
        AltaFormDto::decl(&cfg),
        LevelDto::decl(&cfg),
        DocumentKindDto::decl(&cfg),
        ContrastKindDto::decl(&cfg),
        MaskedCitizenDto::decl(&cfg),
        CounterView::decl(&cfg),
        CounterInfo::decl(&cfg),
        ClerkEvent::decl(&cfg),
        AuditReportDto::decl(&cfg),
        AuditProblemDto::decl(&cfg),
        MaskedIdentityDto::decl(&cfg),
        CardIdentityDto::decl(&cfg),
        ReaderStateDto::decl(&cfg),
        ReaderDto::decl(&cfg),
        ReadersDto::decl(&cfg),
        TrainingCardDto::decl(&cfg),
        ClaveOutcomeDto::decl(&cfg),
        ClaveStatusDto::decl(&cfg),
        ClaveIdentityDto::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/ipc.rs by src-tauri/src/bindings.rs. Do not edit:\n\
         // run `VENTANILLA_UPDATE_BINDINGS=1 cargo test -p ventanilla bindings` instead.\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(decl.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn committed_bindings_match_the_rust_types() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let expected = super::render();
        if std::env::var_os("VENTANILLA_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "ui/src/bindings.ts is out of date: run `VENTANILLA_UPDATE_BINDINGS=1 cargo test -p ventanilla bindings`"
        );
    }
}
