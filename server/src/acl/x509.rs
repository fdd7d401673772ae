//! The x509 scheme (Apache's `X509AuthenticationProvider`): a verified client certificate
//! authenticates as `x509:<subject DN>`, and as the super user too when that DN is
//! `zookeeper.X509AuthenticationProvider.superUser`.

use zk_proto::Id;

/// The identities a client certificate with subject `name` grants.
pub fn x509_ids(name: String, super_user: Option<&str>) -> Vec<Id> {
    let is_super = super_user == Some(name.as_str());
    super::with_super(Id::new("x509", name), is_super)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn super_user_by_name() {
        assert_eq!(x509_ids("CN=a".into(), None), vec![Id::new("x509", "CN=a")]);
        assert_eq!(
            x509_ids("CN=a".into(), Some("CN=a")),
            vec![Id::new("super", ""), Id::new("x509", "CN=a")]
        );
        assert_eq!(x509_ids("CN=a".into(), Some("CN=b")).len(), 1);
    }
}
