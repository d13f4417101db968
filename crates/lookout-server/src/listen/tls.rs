//! TLS for the listener (rustls): the certificate chain and key from PEM files, checked
//! for changes every `reload_interval` and swapped in without a restart; optionally,
//! client certificates required and verified against a CA file.
//!
//! A new pair that cannot be used (unreadable, not PEM, a key that does not match the
//! certificate) keeps the old one serving and is logged once, until the files change
//! again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Where the certificate, its key and the optional client CA are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
    pub reload_interval: Duration,
}

/// Why TLS could not be set up; each names the configuration key and the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("[server.tls] {key} {}: cannot read it: {error}", path.display())]
    Read {
        key: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("[server.tls] {key} {}: {reason}", path.display())]
    Invalid {
        key: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("[server.tls]: {0}")]
    Setup(rustls::Error),
}

/// The listener's TLS: an acceptor whose certificate follows the files.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    resolver: Arc<Reloading>,
    files: TlsFiles,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Tls {
    /// Reads the files and builds the server configuration (HTTP/1.1 over TLS 1.2/1.3).
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let provider = provider();
        let certified = load_pair(&files, &provider)?;
        let resolver = Arc::new(Reloading {
            current: RwLock::new(Arc::new(certified)),
        });
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?;
        let builder = match &files.client_ca_file {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let invalid = |reason: String| TlsError::Invalid {
                    key: "client_ca_file",
                    path: path.clone(),
                    reason,
                };
                let mut roots = rustls::RootCertStore::empty();
                for cert in read_certs("client_ca_file", path)? {
                    roots.add(cert).map_err(|error| {
                        invalid(format!("not a usable CA certificate: {error}"))
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|error| invalid(format!("cannot verify clients with it: {error}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config =
            builder.with_cert_resolver(Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            resolver,
            files,
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// Checks the certificate and key files every `reload_interval` and serves a new
    /// pair once it loads; runs until the returned task is aborted.
    pub fn spawn_reloader(&self) -> tokio::task::JoinHandle<()> {
        let files = self.files.clone();
        let resolver = Arc::clone(&self.resolver);
        tokio::spawn(async move {
            let provider = provider();
            let mut seen = stamps(&files);
            let mut ticker = tokio::time::interval(files.reload_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let now = stamps(&files);
                if now == seen {
                    continue;
                }
                seen = now;
                let (files, provider) = (files.clone(), Arc::clone(&provider));
                let loaded =
                    tokio::task::spawn_blocking(move || load_pair(&files, &provider)).await;
                match loaded {
                    Ok(Ok(certified)) => {
                        *resolver.current.write().unwrap_or_else(|e| e.into_inner()) =
                            Arc::new(certified);
                        tracing::info!("TLS certificate reloaded");
                    }
                    Ok(Err(error)) => tracing::error!(
                        %error,
                        "the new TLS certificate or key cannot be used; the previous one is still served"
                    ),
                    Err(error) => tracing::error!(%error, "reloading the TLS certificate failed"),
                }
            }
        })
    }
}

/// What tells a file changed: its modification time and length (None: unreadable).
type Stamp = Option<(SystemTime, u64)>;

fn stamps(files: &TlsFiles) -> (Stamp, Stamp) {
    let stamp = |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    (stamp(&files.cert_file), stamp(&files.key_file))
}

/// Serves the pair most recently loaded.
#[derive(Debug)]
struct Reloading {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

fn read_certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = std::fs::read(path).map_err(|error| TlsError::Read {
        key,
        path: path.to_path_buf(),
        error,
    })?;
    let invalid = |reason: String| TlsError::Invalid {
        key,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(format!("not PEM certificates: {error}")))?;
    if certs.is_empty() {
        return Err(invalid(
            "no certificate (BEGIN CERTIFICATE) in the file".into(),
        ));
    }
    Ok(certs)
}

/// The certificate chain and its private key, checked to belong together.
fn load_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let certs = read_certs("cert_file", &files.cert_file)?;
    let path = &files.key_file;
    let text = std::fs::read(path).map_err(|error| TlsError::Read {
        key: "key_file",
        path: path.clone(),
        error,
    })?;
    let invalid = |reason: String| TlsError::Invalid {
        key: "key_file",
        path: path.clone(),
        reason,
    };
    let key = PrivateKeyDer::from_pem_slice(&text)
        .map_err(|error| invalid(format!("no PEM private key: {error}")))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| invalid(format!("not a usable private key: {error}")))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(|error| {
        invalid(format!(
            "does not match the certificate in {}: {error}",
            files.cert_file.display()
        ))
    })?;
    Ok(certified)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate and its key, as PEM.
    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn files(dir: &Path, cert: &str, key: &str) -> TlsFiles {
        let files = TlsFiles {
            cert_file: dir.join("server.crt"),
            key_file: dir.join("server.key"),
            client_ca_file: None,
            reload_interval: Duration::from_secs(1),
        };
        std::fs::write(&files.cert_file, cert).unwrap();
        std::fs::write(&files.key_file, key).unwrap();
        files
    }

    #[test]
    fn a_matching_pair_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair();
        Tls::load(files(dir.path(), &cert, &key)).expect("the pair loads");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let ((cert, _), (_, other_key)) = (pair(), pair());
        let error = Tls::load(files(dir.path(), &cert, &other_key)).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("key_file")
                && message.contains("server.key")
                && message.contains("server.crt"),
            "{message}"
        );
    }

    #[test]
    fn missing_and_empty_files_name_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, key) = pair();
        let message = Tls::load(files(dir.path(), "", &key))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("cert_file") && message.contains("server.crt"),
            "{message}"
        );
        let (cert, key) = pair();
        let mut missing_ca = files(dir.path(), &cert, &key);
        missing_ca.client_ca_file = Some(dir.path().join("nowhere.crt"));
        let message = Tls::load(missing_ca).unwrap_err().to_string();
        assert!(
            message.contains("client_ca_file") && message.contains("nowhere.crt"),
            "{message}"
        );
    }
}
