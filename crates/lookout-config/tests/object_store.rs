//! The `[object_store]` table: the directory default, an S3 bucket, and mistakes named
//! with their line.

use std::path::PathBuf;

use lookout_config::*;

#[test]
fn the_default_is_the_objects_directory_of_the_data_dir() {
    assert_eq!(
        Config::default().object_store,
        ObjectStoreConfig::Directory(None)
    );
    let text = "[object_store]\npath = \"/srv/lookout/objects\"\n";
    assert_eq!(
        Config::from_str_named(text, "o.toml").unwrap().object_store,
        ObjectStoreConfig::Directory(Some(PathBuf::from("/srv/lookout/objects")))
    );
}

#[test]
fn an_s3_bucket_is_read_with_defaults() {
    let text = "[object_store]\ns3 = { bucket = \"lookout-models\", endpoint = \"http://127.0.0.1:9000\", prefix = \"prod\" }\n";
    assert_eq!(
        Config::from_str_named(text, "o.toml").unwrap().object_store,
        ObjectStoreConfig::S3(S3StoreConfig {
            bucket: "lookout-models".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: "us-east-1".into(),
            prefix: "prod/".into(),
        })
    );
}

#[test]
fn mistakes_name_line_and_key() {
    for (text, line, says) in [
        (
            "[object_store]\npath = \"/x\"\ns3 = { bucket = \"abc\" }\n",
            3,
            "not both",
        ),
        (
            "[object_store]\ns3 = { region = \"eu-west-1\" }\n",
            2,
            "`bucket` is required",
        ),
        (
            "[object_store]\ns3 = { bucket = \"Bad_Bucket\" }\n",
            2,
            "not a valid S3 bucket name",
        ),
        (
            "[object_store]\ns3 = { bucket = \"abc\", endpoint = \"localhost:9000\" }\n",
            2,
            "not an http:// or https:// URL",
        ),
        (
            "[object_store]\ns3 = { bucket = \"abc\", prefix = \"../up\" }\n",
            2,
            "prefix",
        ),
        (
            "[object_store]\ns3 = { bucket = \"abc\", access_key = \"AKIA\" }\n",
            2,
            "access_key",
        ),
        ("[object_store]\nbogus = 1\n", 2, "bogus"),
    ] {
        let message = Config::from_str_named(text, "o.toml")
            .unwrap_err()
            .to_string();
        let located = format!("o.toml:{line}:");
        assert!(
            message.lines().any(|l| l.starts_with(&located)
                && l.contains(says)
                && l.contains("[object_store]")),
            "{located} {says} in:\n{message}"
        );
    }
}
