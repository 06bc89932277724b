/* The example of include/nlassp/credssp.h's header comment, compiled as C so the documentation
 * cannot drift from the API (built by tests/credssp; extracted verbatim by hand - keep in sync). */
#include <nlassp/credssp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <winpr/sspi.h>

static SecBuffer make_params(SSL* tls)
{
    X509* cert = SSL_get1_peer_certificate(tls);
    unsigned char* spki = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
    NLASSP_CREDSSP_PARAMS p = { 0 };
    p.cbSize = sizeof(p);
    p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
    p.KeyFormat = NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO;
    p.PublicKeyOffset = sizeof(p);
    p.PublicKeyLength = (uint32_t)n;
    unsigned char* buf = malloc(sizeof(p) + (size_t)n);
    memcpy(buf, &p, sizeof(p));
    memcpy(buf + sizeof(p), spki, (size_t)n);
    OPENSSL_free(spki);
    X509_free(cert);
    SecBuffer b = { (ULONG)(sizeof(p) + (size_t)n), NLASSP_SECBUFFER_CREDSSP_PARAMS, buf };
    return b;
}

static SECURITY_STATUS first_call(SecurityFunctionTableA* t, CredHandle* cred, SSL* tls,
                                  CtxtHandle* ctx, SecBuffer* out_token)
{
    SecBuffer in[1] = { make_params(tls) };
    SecBufferDesc in_desc = { SECBUFFER_VERSION, 1, in };
    SecBufferDesc out_desc = { SECBUFFER_VERSION, 1, out_token };
    ULONG attrs = 0;
    SECURITY_STATUS s = t->InitializeSecurityContextA(
        cred, NULL, (SEC_CHAR*)"TERMSRV/server.example.com",
        ISC_REQ_DELEGATE | ISC_REQ_MUTUAL_AUTH | ISC_REQ_ALLOCATE_MEMORY, 0, 0, &in_desc, 0,
        ctx, &out_desc, &attrs, NULL);
    free(in[0].pvBuffer);
    return s;   // SEC_I_CONTINUE_NEEDED: SSL_write(tls, out_token->pvBuffer, ...)
}

/* Keep the static functions referenced. */
SECURITY_STATUS nlassp_credssp_example(SecurityFunctionTableA* t, CredHandle* cred, SSL* tls, CtxtHandle* ctx,
                                       SecBuffer* out_token);
SECURITY_STATUS nlassp_credssp_example(SecurityFunctionTableA* t, CredHandle* cred, SSL* tls, CtxtHandle* ctx,
                                       SecBuffer* out_token)
{
	NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR d = { 0 };
	NLASSP_CREDSSP_INFO info = { 0 };
	(void)d;
	(void)info;
	return first_call(t, cred, tls, ctx, out_token);
}
