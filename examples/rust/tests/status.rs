//! fden::Status, the library's statuses as an enum, in fden::Error.

use fden::{status, Model, Status};

#[test]
fn status_enum_matches_the_library() {
    let names = [
        "FDEN_E_INVALID", "FDEN_E_NOMEM", "FDEN_E_SHAPE", "FDEN_E_IO", "FDEN_E_FORMAT",
        "FDEN_E_VERSION", "FDEN_E_CORRUPT", "FDEN_E_NONFINITE", "FDEN_E_HOST", "FDEN_E_STATE",
        "FDEN_E_OVERFLOW", "FDEN_E_UNSUPPORTED",
    ];
    let mut reasons = std::collections::HashSet::new();
    for (i, name) in names.iter().enumerate() {
        let code = -(i as i32) - 1;
        let s = Status::from_code(code);
        assert!(!matches!(s, Status::Other(_)), "{code}");
        assert_eq!(s.code(), code);
        assert_eq!(s.name(), *name);
        assert_eq!(i32::from(s), code);
        assert_eq!(s.reason(), fden::strerror(code));
        assert!(reasons.insert(s.reason()), "{name}: a reason of its own");
    }
    assert_eq!(Status::from_code(-77), Status::Other(-77));
    assert_eq!(Status::Other(-77).code(), -77);
    assert_eq!(status::IO, Status::Io);

    // a real failure: the variant, the detail, Display and std::error::Error
    let e = Model::load("/no/such/dir/model.fden").unwrap_err();
    assert!(matches!(e.status, Status::Io), "{e}");
    assert_eq!(e.code(), -4);
    let shown = e.to_string();
    assert!(shown.contains("FDEN_E_IO") && shown.contains("/no/such/dir/model.fden"), "{shown}");
    let boxed: Box<dyn std::error::Error> = Box::new(e.clone());
    assert_eq!(boxed.to_string(), shown);
    fn needs_question_mark() -> Result<(), Box<dyn std::error::Error>> {
        Model::load("/no/such/dir/model.fden")?;
        Ok(())
    }
    assert!(needs_question_mark().is_err());
}
