use super::*;
use proptest::prelude::*;

fn read_str(text: &str, options: TableOptions) -> Result<Vec<Row>, TableError> {
    TableReader::from_reader("data.csv", text.as_bytes(), options)?.collect()
}

fn first_error(text: &str) -> String {
    match read_str(text, TableOptions::default()) {
        Ok(rows) => panic!("expected an error, read {} rows", rows.len()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn reads_every_timestamp_format() {
    let text = "time,cpu\n\
                2024-05-01 10:00:00,1\n\
                2024-05-01 10:00:00.250,2\n\
                2024-05-01T10:00:01Z,3\n\
                2024-05-01T12:00:02+02:00,4\n\
                1714557603,5\n\
                1714557603.5,6\n\
                1714557604000,7\n";
    let rows = read_str(text, TableOptions::default()).unwrap();
    let base = 1_714_557_600_000;
    let expected = [
        base,
        base + 250,
        base + 1000,
        base + 2000,
        base + 3000,
        base + 3500,
        base + 4000,
    ];
    assert_eq!(
        rows.iter().map(|r| r.timestamp_ms).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        rows.iter().map(|r| r.values[0]).collect::<Vec<_>>(),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    );
    assert_eq!(
        rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6, 7, 8]
    );
    assert_eq!(rows[3].timestamp, "2024-05-01T12:00:02+02:00");
}

#[test]
fn reads_crlf_exponents_quotes_bom_and_blank_lines() {
    let text = "\u{feff}timestamp,value,\"other col\"\r\n\
                2014-07-01 00:00:00,-1.03989471325e-05, 2 \r\n\
                \r\n\
                2014-07-01 00:05:00,\"3.5\",1E3\r\n";
    let reader =
        TableReader::from_reader("data.csv", text.as_bytes(), TableOptions::default()).unwrap();
    assert_eq!(reader.timestamp_column(), "timestamp");
    assert_eq!(reader.columns(), ["value", "other col"]);
    let rows: Vec<Row> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].values, [-1.03989471325e-05, 2.0]);
    assert_eq!(rows[1].values, [3.5, 1000.0]);
    assert_eq!(rows[1].line, 4);
    assert_eq!(rows[0].timestamp, "2014-07-01 00:00:00");
}

#[test]
fn empty_cells_are_errors_unless_allowed() {
    let text = "t,a,b\n1,,2\n2,nan,NaN\n";
    assert_eq!(first_error(text), "data.csv:2: column \"a\": value is missing (empty cells are allowed only with the allow-missing option)");
    let rows = read_str(
        text,
        TableOptions {
            allow_missing: true,
        },
    )
    .unwrap();
    assert!(rows[0].values[0].is_nan());
    assert_eq!(rows[0].values[1], 2.0);
    assert!(rows[1].values.iter().all(|v| v.is_nan()));
}

#[test]
fn error_messages_name_file_line_and_reason() {
    let cases: &[(&str, &str)] = &[
        ("", "data.csv: file is empty (a header line is required)"),
        ("\n\n", "data.csv: file is empty (a header line is required)"),
        (
            "2024-05-01 10:00:00,1\n",
            "data.csv:1: missing header: the first line starts with the timestamp \"2024-05-01 10:00:00\"; add a header such as \"timestamp,value\"",
        ),
        ("timestamp\n1,2\n", "data.csv:1: header has only the timestamp column \"timestamp\"; at least one value column is needed"),
        ("timestamp,,b\n", "data.csv:1: header column 2 is empty"),
        ("t,cpu,cpu\n", "data.csv:1: header names column \"cpu\" twice"),
        ("t,cpu\n1,2\n2,3,4\n", "data.csv:3: expected 2 fields (as in the header), found 3"),
        ("t,cpu\n1\n", "data.csv:2: expected 2 fields (as in the header), found 1"),
        (
            "t,cpu\nyesterday,1\n",
            "data.csv:2: \"yesterday\" is not a timestamp (RFC 3339, \"YYYY-MM-DD HH:MM:SS\", or Unix seconds/milliseconds)",
        ),
        (
            "t,cpu\n2024-02-30 00:00:00,1\n",
            "data.csv:2: \"2024-02-30 00:00:00\" is not a timestamp (RFC 3339, \"YYYY-MM-DD HH:MM:SS\", or Unix seconds/milliseconds)",
        ),
        (
            "t,cpu\n100000000000000000,1\n",
            "data.csv:2: \"100000000000000000\" is not a timestamp (RFC 3339, \"YYYY-MM-DD HH:MM:SS\", or Unix seconds/milliseconds)",
        ),
        ("t,cpu\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,10\n11,11\n12,12\n13,13\n14,14\n15,15\n16,abc\n", "data.csv:17: column \"cpu\": \"abc\" is not a number"),
        ("t,cpu\n1,inf\n", "data.csv:2: column \"cpu\": \"inf\" is not a finite number"),
        ("t,cpu\n1,NaN\n", "data.csv:2: column \"cpu\": \"NaN\" is not a finite number"),
        ("t,cpu\n1,\"unterminated\n", "data.csv:2: column \"cpu\": \"unterminated\" is not a number"),
    ];
    for (text, expected) in cases {
        assert_eq!(&first_error(text), expected, "input {text:?}");
    }
}

#[test]
fn invalid_utf8_is_reported_with_its_line() {
    let bytes: &[u8] = b"t,cpu\n1,2\n2,\xff\n";
    let result: Result<Vec<Row>, TableError> =
        TableReader::from_reader("data.csv", bytes, TableOptions::default())
            .unwrap()
            .collect();
    assert_eq!(
        result.unwrap_err().to_string(),
        "data.csv:3: invalid UTF-8 in field 2"
    );
}

#[test]
fn iteration_continues_after_a_bad_row() {
    let results: Vec<_> = TableReader::from_reader(
        "data.csv",
        "t,v\n1,x\n2,3\n".as_bytes(),
        TableOptions::default(),
    )
    .unwrap()
    .collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_err());
    assert_eq!(results[1].as_ref().unwrap().values, [3.0]);
}

#[test]
fn read_table_is_column_major_and_names_the_file() {
    let dir = std::env::temp_dir().join(format!("lookout-eval-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("two.csv");
    std::fs::write(&path, "timestamp,a,b\r\n1,1,10\r\n2,2,20\r\n").unwrap();
    let table = read_table(&path).unwrap();
    assert_eq!(table.columns, ["a", "b"]);
    assert_eq!(table.timestamps_ms, [1000, 2000]);
    assert_eq!(table.column("b"), Some(&[10.0, 20.0][..]));
    assert_eq!(table.len(), 2);

    let header_only = dir.join("header_only.csv");
    std::fs::write(&header_only, "timestamp,a\n").unwrap();
    assert_eq!(
        read_table(&header_only).unwrap_err().to_string(),
        format!("{}: no data rows after the header", header_only.display())
    );

    let missing = dir.join("absent.csv");
    let message = read_table(&missing).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    /// The hand-written calendar parser agrees with chrono on every valid date-time.
    #[test]
    fn calendar_parser_matches_chrono(seconds in -62_000_000_000i64..253_000_000_000i64, millis in 0i64..1000) {
        let datetime = chrono::DateTime::from_timestamp(seconds, (millis * 1_000_000) as u32).unwrap();
        let expected = seconds * 1000 + millis;
        let naive = datetime.format("%Y-%m-%d %H:%M:%S%.3f").to_string();
        prop_assert_eq!(parse_timestamp_ms(&naive), Some(expected));
        let rfc = datetime.to_rfc3339();
        prop_assert_eq!(parse_timestamp_ms(&rfc), Some(expected));
    }

    /// Unix seconds written as decimals parse exactly to milliseconds.
    #[test]
    fn unix_decimal_seconds_are_exact(millis in -99_999_999_999_999i64..99_999_999_999_999i64) {
        let text = format!("{}{}.{:03}", if millis < 0 { "-" } else { "" }, millis.abs() / 1000, millis.abs() % 1000);
        prop_assert_eq!(parse_timestamp_ms(&text), Some(millis));
    }
}
#[test]
fn line_numbers_are_the_same_for_lf_and_crlf() {
    for text in [
        "t,v\n1,2\n\n3,4\n  \n5,6\n",
        "t,v\r\n1,2\r\n\r\n3,4\r\n  \r\n5,6\r\n",
        "\nt,v\n1,2\n3,4\n\n5,6",
    ] {
        let rows = read_str(text, TableOptions::default()).unwrap();
        let lines: Vec<u64> = rows.iter().map(|row| row.line).collect();
        let expected: &[u64] = if text.starts_with('\n') {
            &[3, 4, 6]
        } else {
            &[2, 4, 6]
        };
        assert_eq!(lines, expected, "input {text:?}");
        assert_eq!(
            rows.iter().map(|row| row.values[0]).collect::<Vec<_>>(),
            [2.0, 4.0, 6.0]
        );
    }
    assert_eq!(
        first_error("t,v\r\n1,2\r\n2,x\r\n"),
        "data.csv:3: column \"v\": \"x\" is not a number"
    );
}
