//! File sizes per hidden size, as tabulated in FORMAT.md ("Size"): keeps the table honest.

mod common;

#[test]
fn file_sizes_match_format_md() {
    let table = [
        (50, 41_799),
        (128, 102_867),
        (200, 160_683),
        (256, 205_651),
        (512, 411_219),
        (1024, 822_355),
    ];
    let mut got = Vec::new();
    for (hidden, _) in table {
        let bytes = common::small_params(hidden, 10).encode().unwrap();
        got.push((hidden, bytes.len()));
    }
    assert_eq!(got, table, "update the table in FORMAT.md");
}
