//! Typed configuration setters: integers and enums, refused before the
//! library is called when the key does not take them.

use fden::{AlignHead, Config, DisentanglerKind, Init, LrDecay, Param, Status};

#[test]
fn typed_setters() {
    let mut cfg = Config::new().unwrap();
    cfg.set_int(Param::FlowLayers, 4).unwrap().set_int(Param::Seed, 9).unwrap();
    assert_eq!(cfg.get_int(Param::FlowLayers).unwrap(), 4);
    assert_eq!(cfg.get(Param::Seed).unwrap(), 9.0);
    // 2.5 layers: refused here, with a message of these bindings
    let e = cfg.set(Param::FlowLayers, 2.5).unwrap_err();
    assert_eq!(e.status, Status::Invalid);
    assert!(e.message.contains("flow_layers takes an integer"), "{e}");
    assert_eq!(cfg.get_int(Param::FlowLayers).unwrap(), 4, "unchanged");
    cfg.set(Param::FlowLayers, 3.0).unwrap(); // whole numbers still go through set
    // an integer for a real key, and an integer out of bounds
    let e = cfg.set_int(Param::Lr, 1).unwrap_err();
    assert!(e.message.contains("lr takes a real value"), "{e}");
    assert!(cfg.get_int(Param::Lr).is_err());
    let e = cfg.set_int(Param::FlowLayers, 1000).unwrap_err();
    assert_eq!(e.status, Status::Invalid);
    assert!(e.message.contains("flow_layers"), "the library's message: {e}");
    // enums: the key comes from the type
    cfg.set_enum(Init::GlorotNormal).unwrap();
    cfg.set_enum(AlignHead::Matching).unwrap();
    cfg.set_enum(DisentanglerKind::Mlp).unwrap();
    cfg.set_enum(LrDecay::Cosine).unwrap();
    assert_eq!(cfg.get_int(Param::Init).unwrap(), 1);
    assert_eq!(cfg.get_int(Param::AlignHead).unwrap(), 2);
    assert_eq!(cfg.get_int(Param::Disentangler).unwrap(), 0);
    assert_eq!(cfg.get_int(Param::LrDecay).unwrap(), 1);
}

#[test]
fn integer_keys_agree_with_the_library() {
    let count = unsafe { fden::ffi::fden_config_key_count() };
    // keys are append-only: the crate's are the library's first ones (a
    // library newer than the crate may have more, reachable by set_raw)
    assert!(Param::ALL.len() as i32 <= count, "{} Params, the library has {count} keys", Param::ALL.len());
    if (Param::ALL.len() as i32) < count {
        eprintln!("note: the library has {count} keys, the crate's Param {}", Param::ALL.len());
    }
    for (i, &k) in Param::ALL.iter().enumerate() {
        assert_eq!(k as i32, i as i32 + 1);
        assert!(fden::key_name(k).is_some(), "{k:?}");
        // a fraction inside the bounds: the library refuses it exactly for integer keys
        let (lo, hi) = fden::bounds(k).unwrap();
        let v = lo + (hi - lo).min(1.0) / 2.0;
        assert!(v.fract() != 0.0 && v > lo && v < hi, "{k:?}: {v} in [{lo}, {hi}]");
        let mut cfg = Config::new().unwrap();
        let c_refuses = cfg.set_raw(k as i32, v).is_err();
        assert_eq!(c_refuses, k.is_integer(), "{k:?} ({v})");
        assert!(!k.is_enum() || k.is_integer(), "{k:?}");
    }
}
