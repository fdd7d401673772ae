//! SASL GSSAPI (Kerberos) against a real MIT KDC started here: a client with a ticket (the system's
//! GSS-API library on the client side too) logs in as its principal, which the `sasl` ACL scheme
//! then recognises; another principal, an unauthenticated client and a client claiming another
//! principal's id are kept out; a ticket for another service of the server's keytab, a security
//! layer that was not offered and a garbage token each get AuthFailed and a close while the server
//! keeps serving; `zookeeper.kerberos.remove{Host,Realm}FromPrincipal` shorten the id.
//!
//! One test function: the GSS-API library reads `KRB5_CONFIG` and `KRB5CCNAME` from the
//! environment, which is set once, before any other thread of this binary exists.

mod common;

use std::net::SocketAddr;

use common::kdc::{Kdc, REALM};
use common::{RawClient, TestServer, assert_server_serves, start_with_properties};
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_KRB5_PRINCIPAL};
use zk_proto::{Acl, CreateRequest, ErrorCode, Id, OpCode, Record, SaslToken, perms};

const SERVICE: &str = "zookeeper/localhost";

struct Realm {
    kdc: Kdc,
    service_keytab: std::path::PathBuf,
}

impl Realm {
    /// The KDC with the service's keytab (which also holds `other/localhost`), and tickets for
    /// alice and bob in one credential cache collection.
    fn start() -> Realm {
        let kdc = Kdc::start();
        let service_keytab = kdc.keytab(SERVICE, "service.keytab");
        kdc.keytab("other/localhost", "service.keytab");
        let ccache = format!("DIR:{}", kdc.dir.path().join("ccache").display());
        std::fs::create_dir(kdc.dir.path().join("ccache")).unwrap();
        for user in ["alice", "bob"] {
            let keytab = kdc.keytab(user, &format!("{user}.keytab"));
            kdc.kinit(user, &keytab, &ccache);
        }
        // SAFETY: this is the binary's only test and the runtime is not built yet: no other
        // thread reads the environment.
        unsafe {
            std::env::set_var("KRB5_CONFIG", &kdc.krb5_conf);
            std::env::set_var("KRB5CCNAME", &ccache);
        }
        Realm {
            kdc,
            service_keytab,
        }
    }

    async fn server(&self, extra_properties: &[(&str, &str)]) -> TestServer {
        let jaas = self.kdc.dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "Server {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  \
                 useKeyTab=true\n  keyTab=\"{}\"\n  storeKey=true\n  principal=\"{SERVICE}@{REALM}\";\n}};\n",
                self.service_keytab.display()
            ),
        )
        .unwrap();
        let mut properties = vec![
            (
                "java.security.auth.login.config".to_string(),
                jaas.display().to_string(),
            ),
            (
                "java.security.krb5.conf".to_string(),
                self.kdc.krb5_conf.display().to_string(),
            ),
        ];
        properties.extend(
            extra_properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        start_with_properties(
            "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n",
            properties,
        )
        .await
    }
}

/// Sends one SASL token; returns the reply's error code and token.
async fn sasl(client: &mut RawClient, xid: i32, token: &[u8]) -> (i32, Option<Vec<u8>>) {
    let packet = SaslToken {
        token: Some(token.to_vec()),
    };
    client.send_request(xid, OpCode::Sasl.code(), &packet).await;
    let (header, body) = client.read_reply().await.expect("a SASL reply");
    assert_eq!((header.xid, header.zxid), (xid, 0));
    (header.err, SaslToken::from_bytes(&body).unwrap().token)
}

/// How a test client logs in.
struct Login<'a> {
    /// The client principal (its ticket is in the cache).
    user: &'a str,
    /// The service principal it asks a ticket for.
    service: &'a str,
    /// The security layer it chooses.
    layer: u8,
    /// The authorization id it asks for.
    authzid: &'a str,
}

impl Login<'_> {
    fn as_user(user: &str) -> Login<'_> {
        Login {
            user,
            service: SERVICE,
            layer: 1,
            authzid: "",
        }
    }

    /// Runs the exchange on a new connection; returns it and the last reply's error code.
    async fn run(&self, addr: SocketAddr) -> (RawClient, i32) {
        let (mut client, _) = RawClient::handshake(addr).await;
        let principal = |name: &str| {
            Name::new(
                format!("{name}@{REALM}").as_bytes(),
                Some(&GSS_NT_KRB5_PRINCIPAL),
            )
            .unwrap()
        };
        let cred =
            Cred::acquire(Some(&principal(self.user)), None, CredUsage::Initiate, None).unwrap();
        let mut ctx = ClientCtx::new(
            Some(cred),
            principal(self.service),
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(&GSS_MECH_KRB5),
        );
        let mut token = ctx.step(None, None).unwrap().unwrap().to_vec();
        for xid in 1.. {
            let (err, reply) = sasl(&mut client, xid, &token).await;
            if err != 0 {
                assert_eq!(reply, None, "a failure carries no token");
                return (client, err);
            }
            let reply = reply.expect("a challenge");
            if !ctx.is_complete() {
                let next = ctx.step(Some(&reply), None).unwrap();
                token = next.map(|t| t.to_vec()).unwrap_or_default();
                continue;
            }
            let offer = ctx.unwrap(&reply).unwrap();
            assert_eq!(offer[0], 1, "only 'no security layer' is offered");
            let mut answer = vec![self.layer, 0, 0, 0];
            answer.extend_from_slice(self.authzid.as_bytes());
            let wrapped = ctx.wrap(false, &answer).unwrap();
            let (err, last) = sasl(&mut client, xid + 1, &wrapped).await;
            assert_eq!(last, None, "Apache's final answer carries no token");
            return (client, err);
        }
        unreachable!()
    }
}

async fn create(client: &mut RawClient, path: &str, sasl_id: &str) -> i32 {
    let request = CreateRequest {
        path: path.into(),
        data: Some(b"x".to_vec()),
        acl: vec![Acl {
            perms: perms::ALL,
            id: Id::new("sasl", sasl_id),
        }],
        flags: 0,
    };
    client
        .send_request(10, OpCode::Create.code(), &request)
        .await;
    client.read_reply().await.expect("create reply").0.err
}

async fn get(client: &mut RawClient, path: &str) -> i32 {
    client
        .send_path_read(11, OpCode::GetData, path, false)
        .await;
    client.read_reply().await.expect("get reply").0.err
}

async fn assert_refused(server: &TestServer, login: Login<'_>) {
    let (mut client, err) = login.run(server.addr()).await;
    assert_eq!(err, ErrorCode::AuthFailed.code());
    assert!(client.is_closed_by_server().await);
    assert_server_serves(server.addr()).await;
}

#[test]
fn kerberos_logins_against_a_real_kdc() {
    let realm = Realm::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = realm.server(&[]).await;
        let no_auth = ErrorCode::NoAuth.code();
        let alice_id = format!("alice@{REALM}");
        let bob_id = format!("bob@{REALM}");

        let (mut alice, err) = Login::as_user("alice").run(server.addr()).await;
        assert_eq!(err, 0);
        assert_eq!(create(&mut alice, "/alice", &alice_id).await, 0);
        assert_eq!(get(&mut alice, "/alice").await, 0);

        let (mut bob, err) = Login::as_user("bob").run(server.addr()).await;
        assert_eq!(err, 0);
        assert_eq!(get(&mut bob, "/alice").await, no_auth);
        assert_eq!(create(&mut bob, "/bob", &bob_id).await, 0);

        let (mut anonymous, _) = RawClient::handshake(server.addr()).await;
        assert_eq!(get(&mut anonymous, "/alice").await, no_auth);

        // Asking for bob's id does not make alice bob: the id comes from her ticket.
        let claim = Login {
            authzid: &bob_id,
            ..Login::as_user("alice")
        };
        let (mut claimant, err) = claim.run(server.addr()).await;
        assert_eq!(err, 0);
        assert_eq!(get(&mut claimant, "/bob").await, no_auth);
        assert_eq!(get(&mut claimant, "/alice").await, 0);

        let other_service = Login {
            service: "other/localhost",
            ..Login::as_user("alice")
        };
        assert_refused(&server, other_service).await;
        let privacy = Login {
            layer: 4,
            ..Login::as_user("alice")
        };
        assert_refused(&server, privacy).await;
        let (mut garbage, _) = RawClient::handshake(server.addr()).await;
        let (err, _) = sasl(&mut garbage, 1, b"not a GSS-API token").await;
        assert_eq!(err, ErrorCode::AuthFailed.code());
        assert!(garbage.is_closed_by_server().await);
        assert_server_serves(server.addr()).await;

        let short = realm
            .server(&[
                ("zookeeper.kerberos.removeHostFromPrincipal", "true"),
                ("zookeeper.kerberos.removeRealmFromPrincipal", "true"),
            ])
            .await;
        let (mut alice, err) = Login::as_user("alice").run(short.addr()).await;
        assert_eq!(err, 0);
        assert_eq!(create(&mut alice, "/short", "alice").await, 0);
        assert_eq!(get(&mut alice, "/short").await, 0);
        assert_eq!(create(&mut alice, "/long", &alice_id).await, 0);
        assert_eq!(get(&mut alice, "/long").await, no_auth);
    });
}
