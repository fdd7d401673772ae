# Certificates and kubeconfigs for the local backend, made with openssl.
# Sourced by lib/local.sh. EC P-256 keys: quick to generate on every `up`.
# shellcheck shell=bash

PKI_DIR="$ZK_CLUSTER_DIR/pki"

_pki_key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null && chmod 600 "$1"; }

pki_ca() {
	_pki_key "$PKI_DIR/ca.key"
	openssl req -x509 -new -key "$PKI_DIR/ca.key" -subj "/CN=zkops-local-ca" -days 3650 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-out "$PKI_DIR/ca.crt" 2>/dev/null
}

# pki_cert NAME SUBJECT USAGE [SAN] : USAGE is clientAuth, serverAuth or both.
pki_cert() {
	local name="$1" subject="$2" usage="$3" san="${4:-}"
	local ext="$PKI_DIR/$name.ext"
	_pki_key "$PKI_DIR/$name.key"
	openssl req -new -key "$PKI_DIR/$name.key" -subj "$subject" -out "$PKI_DIR/$name.csr" 2>/dev/null
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$usage"
		[[ -z "$san" ]] || echo "subjectAltName=$san"
	} >"$ext"
	openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
		-CAcreateserial -days 3650 -extfile "$ext" -out "$PKI_DIR/$name.crt" 2>/dev/null
	rm -f "$PKI_DIR/$name.csr" "$ext"
}

# kubeconfig NAME : kubeconfig for client cert NAME, written to
# $ZK_CLUSTER_DIR/NAME.kubeconfig.
kubeconfig_for() {
	local name="$1"
	cat >"$ZK_CLUSTER_DIR/$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: zkops
  cluster:
    certificate-authority: $PKI_DIR/ca.crt
    server: https://$NODE_IP:$APISERVER_PORT
users:
- name: $name
  user:
    client-certificate: $PKI_DIR/$name.crt
    client-key: $PKI_DIR/$name.key
contexts:
- name: zkops
  context:
    cluster: zkops
    user: $name
current-context: zkops
KC
	chmod 600 "$ZK_CLUSTER_DIR/$name.kubeconfig"
}

pki_all() {
	mkdir -p "$PKI_DIR"
	chmod 700 "$PKI_DIR"
	pki_ca
	local api_san="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
	api_san+=",DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,IP:$NODE_IP,IP:$KUBERNETES_SVC_IP,IP:127.0.0.1"
	pki_cert apiserver "/CN=kube-apiserver" serverAuth "$api_san"
	pki_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
	pki_cert kubelet "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
	pki_cert admin "/O=system:masters/CN=zkops-admin" clientAuth
	pki_cert node "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
	pki_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
	pki_cert scheduler "/CN=system:kube-scheduler" clientAuth
	pki_cert kube-proxy "/CN=system:kube-proxy" clientAuth
	pki_cert local-path-provisioner "/O=system:masters/CN=local-path-provisioner" clientAuth
	_pki_key "$PKI_DIR/sa.key"
	openssl ec -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
	local n
	for n in admin node controller-manager scheduler kube-proxy local-path-provisioner; do kubeconfig_for "$n"; done
}
