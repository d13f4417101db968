//! The S3 store against moto's S3 (PyPI `moto[server]`, started on a free loopback port
//! from the peers venv: `tests/peers/install-objstore.sh`): versions, rollback, a
//! corrupted version refused, a bucket without versioning refused.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lookout_aws::{host_header, sign, CredentialChain, Credentials, SigningRequest};
use lookout_objstore::{Format, ObjectError, ObjectStore, S3Options, S3Store};

const FORMAT: Format = Format {
    name: "test-model",
    version: 1,
};

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto_server from the peers venv; `None` (skip) when missing, a panic under CI=true.
fn moto() -> Option<Moto> {
    let venv = std::env::var_os("LOOKOUT_PEERS_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lookout/peers-venv"))
        })
        .expect("LOOKOUT_PEERS_VENV or HOME");
    let program = venv.join("bin/moto_server");
    if !program.exists() {
        let message = format!(
            "moto_server not found at {}: run tests/peers/install-objstore.sh (PyPI moto[server])",
            program.display()
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto_server");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

fn credentials() -> Credentials {
    Credentials::new("AKIDTESTING", "testing-secret", None)
}

/// A signed request the store does not make itself (bucket setup, damage).
fn raw(moto: &Moto, method: &str, path: &str, query: &str, body: &[u8]) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = reqwest::Url::parse(&format!(
            "{}{path}{}{query}",
            moto.endpoint,
            if query.is_empty() { "" } else { "?" }
        ))
        .unwrap();
        let host = host_header(&url).unwrap();
        let hash = {
            use sha2::Digest;
            sha2::Sha256::digest(body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let signed = sign(
            &SigningRequest {
                method,
                path,
                query,
                host: &host,
                headers: &[("x-amz-content-sha256", &hash)],
                body,
            },
            &credentials(),
            "us-east-1",
            "s3",
            chrono::Utc::now(),
        );
        let request = reqwest::Client::new()
            .request(method.parse().unwrap(), url)
            .header("x-amz-content-sha256", &hash)
            .body(body.to_vec());
        let response = signed.apply(request).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

fn bucket(moto: &Moto, name: &str, versioned: bool) {
    let (status, body) = raw(moto, "PUT", &format!("/{name}"), "", b"");
    assert_eq!(status, 200, "{body}");
    if versioned {
        let config = br#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let (status, body) = raw(moto, "PUT", &format!("/{name}"), "versioning=", config);
        assert_eq!(status, 200, "{body}");
    }
}

fn store(moto: &Moto, bucket: &str) -> S3Store {
    S3Store::with_credentials(
        S3Options {
            bucket: bucket.into(),
            endpoint: Some(moto.endpoint.clone()),
            region: "us-east-1".into(),
            prefix: "lookout/".into(),
        },
        CredentialChain::fixed(credentials()),
    )
    .unwrap()
}

#[test]
fn versions_rollback_and_a_corrupted_version_refused() {
    let Some(moto) = moto() else { return };
    bucket(&moto, "models", true);
    let store = store(&moto, "models");
    assert!(store.versions("models/traffic/kdd").unwrap().is_empty());
    assert!(matches!(
        store.get_any("models/traffic/kdd", None),
        Err(ObjectError::NotFound { .. })
    ));
    let first = store
        .put("models/traffic/kdd", FORMAT, b"first model")
        .unwrap();
    let second = store
        .put("models/traffic/kdd", FORMAT, b"second model")
        .unwrap();
    store.put("snapshots/detectors", FORMAT, b"state").unwrap();
    assert_eq!((first.number, second.number), (1, 2));
    assert_ne!(first.id, second.id, "S3 version ids");
    assert_eq!(
        store
            .get("models/traffic/kdd", None, FORMAT)
            .unwrap()
            .payload,
        b"second model"
    );
    let by_id = store
        .get("models/traffic/kdd", Some(&first.id), FORMAT)
        .unwrap();
    assert_eq!(by_id.payload, b"first model");
    assert_eq!(by_id.version.number, 1);
    assert_eq!(
        store
            .get("models/traffic/kdd", Some("1"), FORMAT)
            .unwrap()
            .payload,
        b"first model",
        "by number"
    );
    let rolled = store.rollback("models/traffic/kdd", "1").unwrap();
    assert_eq!(rolled.number, 3);
    assert_eq!(
        store
            .get("models/traffic/kdd", None, FORMAT)
            .unwrap()
            .payload,
        b"first model"
    );
    assert_eq!(
        store.list("").unwrap(),
        ["models/traffic/kdd", "snapshots/detectors"]
    );
    assert_eq!(store.list("models/").unwrap(), ["models/traffic/kdd"]);

    // Someone writes damaged bytes as a new version: refused by name and version, and
    // the older versions still read.
    let good = store.get_bytes("models/traffic/kdd", &rolled).unwrap();
    let mut damaged = good.clone();
    *damaged.last_mut().unwrap() ^= 1;
    let (status, body) = raw(
        &moto,
        "PUT",
        "/models/lookout/models/traffic/kdd",
        "",
        &damaged,
    );
    assert_eq!(status, 200, "{body}");
    let error = store.get_any("models/traffic/kdd", None).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("object \"models/traffic/kdd\" version 4 is corrupt (checksum mismatch"),
        "{error}"
    );
    assert!(matches!(
        store.rollback("models/traffic/kdd", "4"),
        Err(ObjectError::Corrupt { .. })
    ));
    store.rollback("models/traffic/kdd", "2").unwrap();
    assert_eq!(
        store
            .get("models/traffic/kdd", None, FORMAT)
            .unwrap()
            .payload,
        b"second model"
    );
    let newer = Format {
        name: "test-model",
        version: 2,
    };
    assert!(matches!(
        store.get("models/traffic/kdd", None, newer),
        Err(ObjectError::Incompatible { .. })
    ));
}

#[test]
fn a_bucket_without_versioning_is_refused() {
    let Some(moto) = moto() else { return };
    bucket(&moto, "plain", false);
    let error = store(&moto, "plain")
        .put("models/traffic/x", FORMAT, b"x")
        .unwrap_err();
    assert!(error.to_string().contains("enable versioning"), "{error}");
    let error = store(&moto, "missing-bucket")
        .put("models/traffic/x", FORMAT, b"x")
        .unwrap_err();
    assert!(error.to_string().contains("NoSuchBucket"), "{error}");
}
