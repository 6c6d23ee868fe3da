//! `model.json` on arbitrary text: no panic; a model that loads builds on the reference backend
//! when its shapes agree with its data and fails cleanly when they do not (see
//! `nmf_fuzz::check_model`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmf_core::SavedModel;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(model) = SavedModel::from_json(text) {
        nmf_fuzz::check_model(&model);
    }
});
