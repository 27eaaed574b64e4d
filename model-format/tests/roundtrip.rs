//! Encode/decode round trips, agreement with the hand-written FORMAT.md writer, and
//! robustness of the decoder against arbitrary and corrupted input.

mod common;

use common::{arb_params, arb_pixels, small_params, RawFile, CRC32, CRC64};
use model_format::{DecodeError, Layout, Model, FORMAT_VERSION, INPUT, MAGIC};
use proptest::prelude::*;

proptest! {
    #[test]
    fn encode_then_decode_gives_back_the_params(params in arb_params()) {
        let bytes = params.encode().expect("valid params encode");
        let model = Model::from_bytes(&bytes).expect("own output decodes");
        prop_assert_eq!(model.dims(), params.dims);
        prop_assert_eq!(model.version(), FORMAT_VERSION);
        prop_assert_eq!(model.layout(), Layout::Smlad);
        prop_assert_eq!(model.file_len(), bytes.len());
        prop_assert_eq!(model.to_params(), params.clone());
        prop_assert_eq!(model.w1().collect::<Vec<_>>(), params.w1.clone());
        // Re-encoding the decoded model reproduces the file byte for byte.
        prop_assert_eq!(model.to_params().encode().unwrap(), bytes);
    }

    /// Layout 0 files keep working: same params back, same logits as layout 1, and the
    /// independent writer agrees with `encode_with_layout(0)` byte for byte.
    #[test]
    fn layouts_0_and_1_are_the_same_model(params in arb_params(), px in arb_pixels()) {
        let old = params.encode_with_layout(Layout::HiddenMajor).unwrap();
        prop_assert_eq!(&old, &RawFile::from_params_layout0(&params).build());
        let new = params.encode().unwrap();
        let (m0, m1) = (Model::from_bytes(&old).unwrap(), Model::from_bytes(&new).unwrap());
        prop_assert_eq!(m0.layout(), Layout::HiddenMajor);
        prop_assert_eq!(m0.to_params(), m1.to_params());
        prop_assert_eq!(m0.infer(&px), m1.infer(&px));
        prop_assert_eq!(m0.to_params().encode().unwrap(), new);
    }

    /// Layout 2 (int16 weights): the independent writer agrees byte for byte, the parameters
    /// come back, the logits are those of layout 1, and re-encoding reproduces the file.
    #[test]
    fn layout_2_is_the_same_model(params in arb_params(), px in arb_pixels()) {
        let wide = params.encode_with_layout(Layout::Smlad16).unwrap();
        prop_assert_eq!(&wide, &RawFile::from_params_layout2(&params).build());
        let narrow = params.encode().unwrap();
        let (m1, m2) = (Model::from_bytes(&narrow).unwrap(), Model::from_bytes(&wide).unwrap());
        prop_assert_eq!(m2.layout(), Layout::Smlad16);
        prop_assert_eq!(m2.to_params(), params.clone());
        prop_assert_eq!(m2.infer(&px), m1.infer(&px));
        prop_assert_eq!(m2.to_params().encode_with_layout(Layout::Smlad16).unwrap(), wide);
    }

    /// The crate's encoder and the independent writer in `common` (written from FORMAT.md)
    /// produce identical bytes, and the id and CRC are where the document says.
    #[test]
    fn encoder_matches_the_documented_layout(params in arb_params()) {
        let bytes = params.encode().unwrap();
        let raw = RawFile::from_params(&params);
        prop_assert_eq!(&bytes, &raw.build());
        let model = Model::from_bytes(&bytes).unwrap();
        prop_assert_eq!(model.model_id(), CRC64.checksum(&raw.payload()));
        let n = bytes.len();
        prop_assert_eq!(model.crc32(), CRC32.checksum(&bytes[..n - 4]));
        prop_assert_eq!(&bytes[n - 4..], &model.crc32().to_le_bytes());
        prop_assert_eq!(&bytes[..4], &MAGIC);
        prop_assert_eq!(&bytes[6..14], &model.model_id().to_le_bytes());
        prop_assert_eq!(model.payload_len(), raw.payload().len());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(model) = Model::from_bytes(&bytes) {
            let _ = model.infer(&[0u8; INPUT]);
        }
    }

    /// Arbitrary bytes behind a valid header reach the deeper checks; still no panic.
    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..4096)
    ) {
        let mut bytes = b"MNI8\x01\x00".to_vec();
        bytes.extend(tail);
        if let Ok(model) = Model::from_bytes(&bytes) {
            let _ = model.infer(&[255u8; INPUT]);
        }
    }

    /// Any corruption of a valid file (byte changes, cuts, additions) is an error, never a
    /// panic and never a silently different model.
    #[test]
    fn corrupted_files_are_rejected(
        params in arb_params(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let good = params.encode().unwrap();
        let mut bad = good.clone();
        for (at, xor) in edits {
            let i = at.index(bad.len());
            bad[i] ^= xor;
        }
        prop_assume!(bad != good); // two edits of one byte can cancel out
        prop_assert!(Model::from_bytes(&bad).is_err());
    }

    #[test]
    fn any_truncation_is_rejected(params in arb_params(), cut in any::<prop::sample::Index>()) {
        let good = params.encode().unwrap();
        let len = cut.index(good.len()); // 0..len-1: strictly shorter
        let err = Model::from_bytes(&good[..len]).unwrap_err();
        // Cutting inside the payload or the CRC always reads as truncation.
        prop_assert_eq!(err, DecodeError::Truncated);
    }

    #[test]
    fn decoded_random_models_infer_without_panic(params in arb_params(), px in arb_pixels()) {
        let bytes = params.encode().unwrap();
        let p = Model::from_bytes(&bytes).unwrap().infer(&px);
        prop_assert_eq!(usize::from(p.classes), params.dims.classes);
        prop_assert!(p.class < p.classes);
        prop_assert!(p.logits[usize::from(p.classes)..].iter().all(|&l| l == 0));
    }
}

/// Exhaustive: every single-bit flip anywhere in a small file is detected.
#[test]
fn every_single_bit_flip_is_detected() {
    let good = small_params(2, 3).encode().unwrap();
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            assert!(
                Model::from_bytes(&bad).is_err(),
                "flip of bit {bit} in byte {i} went unnoticed"
            );
        }
    }
}

#[test]
fn header_is_magic_then_little_endian_version() {
    let bytes = small_params(3, 10).encode().unwrap();
    assert_eq!(&bytes[..6], b"MNI8\x01\x00");
}

/// FORMAT.md: the model id names the payload, not the weights: the same parameters in the
/// three layouts are three payloads with three ids (and each id is the CRC-64 of its payload).
#[test]
fn the_model_id_names_the_payload_so_each_layout_has_its_own() {
    let params = small_params(5, 10);
    let ids: Vec<u64> = Layout::ALL
        .iter()
        .map(|&layout| {
            let bytes = params.encode_with_layout(layout).unwrap();
            let model = Model::from_bytes(&bytes).unwrap();
            assert_eq!(model.to_params(), params, "{layout}");
            let payload = &bytes[bytes.len() - 4 - model.payload_len()..bytes.len() - 4];
            assert_eq!(model.model_id(), CRC64.checksum(payload), "{layout}");
            model.model_id()
        })
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:x?}"
    );
}
