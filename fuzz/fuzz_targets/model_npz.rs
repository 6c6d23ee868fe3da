//! `model.npz` on arbitrary bytes: no panic, no decompression beyond bounds; a model that loads
//! has W and H of the shapes its `model.json` declares (see `nmf_fuzz::check_model`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nmf_core::SavedModel;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(model) = SavedModel::read_npz(std::io::Cursor::new(bytes)) {
        assert_eq!(
            Some(model.w.len()),
            model.rows.checked_mul(model.rank),
            "W.npy does not hold rows × rank values"
        );
        assert_eq!(
            Some(model.h.len()),
            model.rank.checked_mul(model.cols),
            "H.npy does not hold rank × cols values"
        );
        nmf_fuzz::check_model(&model);
    }
});
