//! HTTPS for the collector: a throwaway certificate authority and a server certificate
//! for `localhost` and `127.0.0.1`, made at start. Tests give the CA's PEM to the service
//! as `ca_bundle` to prove that certificates are verified, and that a private CA works.

use std::io;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

/// A server configuration and the PEM of the CA that signed its certificate.
pub struct Tls {
    /// For accepting connections.
    pub config: Arc<ServerConfig>,
    /// The certificate of the CA, PEM-encoded.
    pub ca_pem: String,
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Makes a CA and a server certificate signed by it.
///
/// # Errors
/// When key generation or the TLS setup fails.
pub fn generate() -> io::Result<Tls> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(invalid)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "ga4_collector test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(invalid)?).map_err(invalid)?;
    let key = KeyPair::generate().map_err(invalid)?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(invalid)?;
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca).map_err(invalid)?;
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(invalid)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(invalid)?;
    Ok(Tls { config: Arc::new(config), ca_pem: ca.pem() })
}
