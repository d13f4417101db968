//! End to end with the real binary: `[server.tls]` serves HTTPS with certificates made
//! at test time (rcgen), reloads them when the files change, and can require client
//! certificates.

mod e2e_support;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e_support::{eventually, free_port, Lookout};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};

/// A certificate authority and the leaf certificates it signs.
struct Authority {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA certificate");
        Authority { cert, key }
    }

    /// A leaf for 127.0.0.1 and localhost: (certificate PEM, key PEM).
    fn leaf(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A client trusting only `ca`, presenting `identity` (certificate and key PEM) if any.
fn client(ca: &str, identity: Option<&(String, String)>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA PEM"))
        .timeout(Duration::from_secs(20))
        // A new connection (and handshake) per request: a pooled one would keep
        // showing the certificate it was opened with.
        .pool_max_idle_per_host(0);
    if let Some((cert, key)) = identity {
        let pem = format!("{cert}\n{key}");
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    builder.build().expect("client")
}

/// GET `url`: the status, or the error's description.
fn get(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    url: &str,
) -> Result<u16, String> {
    runtime.block_on(async {
        match client.get(url).send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) => Err(format!("{error:?}")),
        }
    })
}

struct Files {
    cert: PathBuf,
    key: PathBuf,
}

fn write_pair(dir: &Path, (cert, key): &(String, String)) -> Files {
    let files = Files {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    // The key first, then the certificate: a reload may see the new key with the old
    // certificate, refuse the mismatch, and take the pair on the next change.
    std::fs::write(&files.key, key).expect("writing the key");
    std::fs::write(&files.cert, cert).expect("writing the certificate");
    files
}

fn config(files: &Files, client_ca: Option<&Path>) -> String {
    let mut text = format!(
        "[server]\nheader_read_timeout = \"2s\"\n\n[server.tls]\ncert_file = {:?}\nkey_file = {:?}\nreload_interval = \"200ms\"\n",
        files.cert, files.key
    );
    if let Some(ca) = client_ca {
        text.push_str(&format!("client_ca_file = {ca:?}\n"));
    }
    text.push_str("\n[detection]\nprofile = \"default\"\n");
    text
}

/// Starts the server and waits until `/readyz` answers 200 over HTTPS.
fn start_tls(
    dir: &Path,
    config: &str,
    runtime: &tokio::runtime::Runtime,
    ready: &reqwest::Client,
) -> (Lookout, String) {
    let port = free_port();
    let mut lookout = Lookout::spawn_on(&dir.join("data"), config, port);
    let base = format!("https://127.0.0.1:{port}");
    eventually(
        "the HTTPS listener answers /readyz",
        Duration::from_secs(60),
        || {
            if let Some(output) = lookout.guard.exited_output() {
                panic!("lookout serve exited:\n{output}");
            }
            (get(runtime, ready, &format!("{base}/readyz")) == Ok(200)).then_some(())
        },
    );
    (lookout, base)
}

#[test]
fn https_is_served_and_plain_http_is_refused_on_the_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let ca = Authority::new("test CA");
    let files = write_pair(dir.path(), &ca.leaf("first"));
    let trusting = client(&ca.pem(), None);
    let (lookout, base) = start_tls(dir.path(), &config(&files, None), &runtime, &trusting);
    assert_eq!(
        get(&runtime, &trusting, &format!("{base}/healthz")),
        Ok(200)
    );
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let answer = get(
        &runtime,
        &plain,
        &format!("http://127.0.0.1:{}/healthz", lookout.port),
    );
    assert!(
        answer.is_err(),
        "plain HTTP on the TLS port was answered: {answer:?}"
    );
    let stranger = client(&Authority::new("another CA").pem(), None);
    let answer = get(&runtime, &stranger, &format!("{base}/healthz"));
    assert!(
        answer.is_err(),
        "a client not trusting the certificate got {answer:?}"
    );
    assert!(lookout.guard.output().contains("listening on https://"));
}

#[test]
fn replaced_certificate_files_are_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let (old_ca, new_ca) = (Authority::new("old CA"), Authority::new("new CA"));
    let files = write_pair(dir.path(), &old_ca.leaf("old"));
    let (trusts_old, trusts_new) = (client(&old_ca.pem(), None), client(&new_ca.pem(), None));
    let (lookout, base) = start_tls(dir.path(), &config(&files, None), &runtime, &trusts_old);
    let healthz = format!("{base}/healthz");
    assert!(get(&runtime, &trusts_new, &healthz).is_err());

    write_pair(dir.path(), &new_ca.leaf("new"));
    eventually(
        "the new certificate is served",
        Duration::from_secs(30),
        || (get(&runtime, &trusts_new, &healthz) == Ok(200)).then_some(()),
    );
    // A new client: one that connected before would resume its TLS session.
    let trusts_old = client(&old_ca.pem(), None);
    assert!(get(&runtime, &trusts_old, &healthz).is_err());

    // A broken replacement keeps the working pair and is reported once.
    std::fs::write(&files.cert, "not a certificate").unwrap();
    eventually(
        "the broken certificate is reported",
        Duration::from_secs(30),
        || {
            lookout
                .guard
                .output()
                .contains("no certificate (BEGIN CERTIFICATE)")
                .then_some(())
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(get(&runtime, &trusts_new, &healthz), Ok(200));
    let output = lookout.guard.output();
    assert_eq!(
        // (A reload between the writes of the new key and certificate may have
        // reported a mismatch too: that is another message.)
        output.matches("no certificate (BEGIN CERTIFICATE)").count(),
        1,
        "the broken file is reported once:\n{output}"
    );
    assert!(
        output.contains("server.crt"),
        "the error names the file:\n{output}"
    );
}

#[test]
fn client_certificates_are_required_with_a_client_ca() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let (server_ca, client_ca) = (Authority::new("server CA"), Authority::new("client CA"));
    let files = write_pair(dir.path(), &server_ca.leaf("server"));
    let ca_file = dir.path().join("clients.crt");
    std::fs::write(&ca_file, client_ca.pem()).unwrap();
    let identity = client_ca.leaf("a client");
    let with_cert = client(&server_ca.pem(), Some(&identity));
    let (_lookout, base) = start_tls(
        dir.path(),
        &config(&files, Some(&ca_file)),
        &runtime,
        &with_cert,
    );
    let healthz = format!("{base}/healthz");
    assert_eq!(get(&runtime, &with_cert, &healthz), Ok(200));
    let without = client(&server_ca.pem(), None);
    let answer = get(&runtime, &without, &healthz);
    assert!(
        answer.is_err(),
        "a client without a certificate got {answer:?}"
    );
    let foreign = client(
        &server_ca.pem(),
        Some(&Authority::new("rogue CA").leaf("rogue")),
    );
    let answer = get(&runtime, &foreign, &healthz);
    assert!(
        answer.is_err(),
        "a client certificate from another CA got {answer:?}"
    );
}

#[test]
fn tls_errors_at_start_name_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("test CA");
    let files = write_pair(dir.path(), &ca.leaf("server"));
    std::fs::write(
        &files.key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let config_path = dir.path().join("lookout.toml");
    std::fs::write(&config_path, config(&files, None)).unwrap();
    let output = std::process::Command::new(e2e_support::lookout_binary())
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("running lookout serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("key_file") && stderr.contains("server.key"),
        "the error names the key and the file:\n{stderr}"
    );

    let check = std::process::Command::new(e2e_support::lookout_binary())
        .arg("check-config")
        .arg(&config_path)
        .output()
        .expect("running lookout check-config");
    assert!(
        !check.status.success(),
        "check-config accepted a broken key"
    );
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("key_file") && stderr.contains("server.key"),
        "check-config names the key and the file:\n{stderr}"
    );
}

#[test]
fn slow_tls_handshakes_are_cut_off() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let ca = Authority::new("test CA");
    let files = write_pair(dir.path(), &ca.leaf("server"));
    let (lookout, _) = start_tls(
        dir.path(),
        &config(&files, None),
        &runtime,
        &client(&ca.pem(), None),
    );
    // A connection that never sends its ClientHello is closed after header_read_timeout.
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", lookout.port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 64];
    let read = silent.read(&mut buffer);
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    };
    assert!(
        matches!(&read, Ok(0)) || matches!(&read, Err(e) if !timed_out(e)),
        "the silent connection was not closed: {read:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "closed after {:?}",
        started.elapsed()
    );
}

/// Over TLS the dashboard's session cookie is marked `Secure`, so a browser never
/// sends it over plain HTTP.
#[test]
fn the_session_cookie_is_secure_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let ca = Authority::new("test CA");
    let files = write_pair(dir.path(), &ca.leaf("first"));
    let token = "lk_tls_session_token";
    let digest = lookout_config::auth::sha256_hex(&lookout_server::auth::hash_token(token));
    let config = format!(
        "{}\n[auth]\nenabled = true\n[[auth.token]]\nname = \"ops\"\nrole = \"read\"\nsha256 = \"{digest}\"\n",
        config(&files, None)
    );
    let trusting = client(&ca.pem(), None);
    let (_lookout, base) = start_tls(dir.path(), &config, &runtime, &trusting);
    let set_cookie = runtime.block_on(async {
        let response = trusting
            .post(format!("{base}/api/v1/session"))
            .header("content-type", "application/json")
            .body(format!("{{\"token\": \"{token}\"}}"))
            .send()
            .await
            .expect("POST /api/v1/session");
        assert_eq!(response.status().as_u16(), 200);
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string()
    });
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
}
