//! TLS for HTTP sinks: rustls with the *ring* provider.
//!
//! Trust: the operating system's store (via `rustls-native-certs`, so the
//! CA bundle the administrator maintains with `update-ca-certificates`,
//! including corporate roots, is used and updated without rebuilding idlink)
//! plus `tls.ca_file`. Verification is on unless `tls.verify = false`, which
//! still checks handshake signatures but accepts any certificate chain and
//! name, and logs a warning.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::config::TlsSettings;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The OS trust store, loaded once per process.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let r = rustls_native_certs::load_native_certs();
        for e in &r.errors {
            tracing::warn!(error = %e, "cannot load part of the system CA store");
        }
        r.certs
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: bad PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("{}: no usable PEM private key: {e}", path.display()))
}

/// Check that the configured files exist and parse (for `idlink
/// validate`). Returns the offending key and why.
pub fn check_files(s: &TlsSettings) -> Result<(), (&'static str, String)> {
    if let Some(ca) = &s.ca_file {
        read_certs(ca).map_err(|e| ("tls.ca_file", e))?;
    }
    if let Some((crt, key)) = &s.client_cert {
        read_certs(crt).map_err(|e| ("tls.crt_file", e))?;
        read_key(key).map_err(|e| ("tls.key_file", e))?;
    }
    Ok(())
}

/// Build the rustls client configuration for `s`.
pub fn client_config(sink: &str, s: &TlsSettings) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = if s.verify {
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(native_roots().iter().cloned());
        let mut extra = 0;
        if let Some(ca) = &s.ca_file {
            for c in read_certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| format!("{}: unusable CA certificate: {e}", ca.display()))?;
                extra += 1;
            }
        }
        if roots.is_empty() {
            return Err("no trusted CA certificates: the system store is empty \
                 (install ca-certificates) and tls.ca_file is not set"
                .into());
        }
        tracing::debug!(
            sink,
            system_roots = added,
            extra_roots = extra,
            "TLS trust store"
        );
        builder.with_root_certificates(roots)
    } else {
        tracing::warn!(
            sink,
            "tls.verify = false: the server certificate is NOT verified; \
             anyone on the path can read and alter this traffic"
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
    };
    match &s.client_cert {
        Some((crt, key)) => builder
            .with_client_auth_cert(read_certs(crt)?, read_key(key)?)
            .map_err(|e| format!("client certificate: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// `tls.verify = false`: accepts any chain and name, still checks that the
/// server holds the key it presents.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
