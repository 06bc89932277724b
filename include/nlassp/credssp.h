/*
 * nlassp's CREDSSP package: the public extension.
 *
 * The package follows Microsoft's "InitializeSecurityContext (CredSSP)" and "AcceptSecurityContext
 * (CredSSP)" (MS-CSSP, TSRequest versions 2 to 6, over nlassp's own Negotiate), except that TLS
 * stays with the caller: every output token is one DER TSRequest to send inside the caller's TLS
 * connection, every input token the peer's TSRequest as read from it. What the TLS connection
 * contributes - the server's public key - the caller hands over in an extra input buffer defined
 * here. An acceptor reads the credentials the client delegated with QueryContextAttributes.
 *
 * 1. The parameters buffer (both roles)
 *    Add a SecBuffer of type NLASSP_SECBUFFER_CREDSSP_PARAMS to pInput on the first call. It holds
 *    an NLASSP_CREDSSP_PARAMS followed by the bytes its offsets point at. The key is the TLS
 *    *server's* public key on both sides - for the acceptor its own certificate's - either as the
 *    DER SubjectPublicKeyInfo (what i2d_PUBKEY / X509_get_X509_PUBKEY give) or as the
 *    SubjectPublicKey (the BIT STRING contents without the unused-bits octet: what FreeRDP's
 *    transport_get_public_key gives). Without a key the handshake fails with
 *    SEC_E_INVALID_PARAMETER when the key is first needed.
 *    The first call's buffer sets the context's policy for its whole life - the version bounds,
 *    the Flags and the delegation targets - with unset fields at their defaults (no buffer on the
 *    first call: the defaults). The buffer may be passed again on any later call, re-
 *    authentication included: its key replaces the key (the last one given is used), and it may
 *    only tighten the policy: a higher MinVersion, a lower MaxVersion,
 *    NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION, or another DelegateTargets list that a target must
 *    match as well. Fields left 0 and flags left clear change nothing, except
 *    NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT: a buffer without it withdraws the tolerance
 *    (a tightening), so pass the same Flags again to keep it. A buffer that asks for
 *    less - a lower MinVersion, a higher MaxVersion, NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT
 *    where the context was created without it - fails with SEC_E_INVALID_PARAMETER and changes
 *    nothing; a looser policy needs a new context.
 *    Versions: 5 and 6 unless MinVersion says otherwise. Versions 2 to 4 bind the authentication
 *    to the TLS key with the plain public-key echo that CVE-2018-0886 broke, so a man in the
 *    middle who rewrites the peer's version could force them: a peer below MinVersion is
 *    refused with SEC_E_UNSUPPORTED_FUNCTION before anything else is sent. To talk to an
 *    unpatched peer, set MinVersion to 2 (and MaxVersion, if below 5, needs a MinVersion).
 *
 * 2. Calling sequence (as Microsoft documents it)
 *    InitializeSecurityContext: first call with phContext NULL and pInput holding only the
 *    parameters buffer; later calls with pInput = { SECBUFFER_TOKEN (the peer's TSRequest),
 *    SECBUFFER_EMPTY (becomes SECBUFFER_MISSING), NLASSP_SECBUFFER_CREDSSP_PARAMS (optional) }.
 *    SEC_I_CONTINUE_NEEDED: send the token and read the next TSRequest. SEC_E_OK: send the final
 *    token (the TSCredentials) if cbBuffer > 0; done. SEC_E_INCOMPLETE_MESSAGE: the input token is
 *    the start of a TSRequest; the SECBUFFER_MISSING buffer's cbBuffer says how many more bytes
 *    are needed (exact once the DER length is in); call again with the longer token.
 *    fContextReq: ISC_REQ_DELEGATE delegates the user's password (policy permitting, see Flags);
 *    without it an empty TSPasswordCreds is sent (restricted-admin style). ISC_REQ_USE_SUPPLIED_CREDS
 *    takes the identity from a SECBUFFER_PKG_PARAMS input buffer holding a
 *    SEC_WINNT_AUTH_IDENTITY_{A,W,EXA,EXW} (or FreeRDP's _WINPR), instead of the credential
 *    handle's. ISC_RET_MANUAL_CRED_VALIDATION is always returned: the caller validates the TLS
 *    certificate. ISC_REQ_DATAGRAM and ISC_REQ_NULL_SESSION give SEC_E_UNSUPPORTED_FUNCTION.
 *    AcceptSecurityContext: the same, with the client's TSRequests; SEC_E_OK on the last one (the
 *    TSCredentials), with no output token. On a failure after the first call, with
 *    ASC_REQ_EXTENDED_ERROR, the output token holds a TSRequest carrying errorCode (versions 3, 4
 *    and 6) for the client.
 *    Statuses worth telling apart: SEC_E_LOGON_DENIED - the server refused the logon (errorCode,
 *    or at versions 2 and 5, which have none, FreeRDP's way of refusing: an all-zero negoToken,
 *    or our own pubKeyAuth sent back in reply to the TSRequest that carried it with the last
 *    negoToken); SEC_E_MUTUAL_AUTH_FAILED - the server did not prove it holds the TLS key: a
 *    wrong public-key echo or hash, or our own pubKeyAuth sent back in any other shape (after its
 *    authentication had completed, or at a version with errorCode): a man in the middle; no
 *    credentials are sent.
 *
 * 3. Re-authentication
 *    Calling InitializeSecurityContext on an established initiator with no input token (or
 *    AcceptSecurityContext on an established acceptor with a new TSRequest) starts a new
 *    handshake on the same context, over the same TLS connection. It keeps: the policy (section
 *    1: versions, Flags, delegation targets - exactly as the context was created with them, or
 *    tighter), and the TLS key (until a new buffer brings another). It starts afresh: the inner
 *    Negotiate context and so the authenticated name, the negotiated version (the peer may now
 *    offer another, within the policy), the requested flags of the new call (ISC_REQ_DELEGATE
 *    may be asked for now: the policy decides whether it is honoured), the supplied identity of
 *    the new call's SECBUFFER_PKG_PARAMS, and the credentials received.
 *
 * 4. Reading what was negotiated and what was delegated
 *    QueryContextAttributes(NLASSP_ATTR_CREDSSP_INFO, NLASSP_CREDSSP_INFO*) fills the struct in
 *    place (no allocation) once the first step succeeded.
 *    QueryContextAttributes(NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS,
 *    NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR*) on an established acceptor context sets
 *    ->Credentials to one allocation that FreeContextBuffer(Credentials) wipes and frees.
 *    The delegated user and domain are whatever the client put in TSCredentials: a client that
 *    authenticated as alice may delegate bob's name (and any password). An acceptor's caller
 *    must compare them with the authenticated name, QueryContextAttributes(SECPKG_ATTR_NAMES),
 *    before it uses them - for example before logging a session on with them. Names with a NUL
 *    or an unpaired surrogate are refused (SEC_E_INVALID_TOKEN), so the UserLength/DomainLength
 *    characters are exactly what C string functions see; the password (or PIN) is opaque UTF-16
 *    code units, passed on as received.
 *
 * Example (initiator; `tls` is an OpenSSL SSL* connected to the server; error handling trimmed):
 *
 *   #include <nlassp/credssp.h>
 *   #include <openssl/ssl.h>
 *   #include <openssl/x509.h>
 *   #include <stdlib.h>
 *   #include <string.h>
 *   #include <winpr/sspi.h>
 *
 *   static SecBuffer make_params(SSL* tls)
 *   {
 *       X509* cert = SSL_get1_peer_certificate(tls);
 *       unsigned char* spki = NULL;
 *       int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
 *       NLASSP_CREDSSP_PARAMS p = { 0 };
 *       p.cbSize = sizeof(p);
 *       p.Version = NLASSP_CREDSSP_PARAMS_VERSION;
 *       p.KeyFormat = NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO;
 *       p.PublicKeyOffset = sizeof(p);
 *       p.PublicKeyLength = (uint32_t)n;
 *       unsigned char* buf = malloc(sizeof(p) + (size_t)n);
 *       memcpy(buf, &p, sizeof(p));
 *       memcpy(buf + sizeof(p), spki, (size_t)n);
 *       OPENSSL_free(spki);
 *       X509_free(cert);
 *       SecBuffer b = { (ULONG)(sizeof(p) + (size_t)n), NLASSP_SECBUFFER_CREDSSP_PARAMS, buf };
 *       return b;
 *   }
 *
 *   static SECURITY_STATUS first_call(SecurityFunctionTableA* t, CredHandle* cred, SSL* tls,
 *                                     CtxtHandle* ctx, SecBuffer* out_token)
 *   {
 *       SecBuffer in[1] = { make_params(tls) };
 *       SecBufferDesc in_desc = { SECBUFFER_VERSION, 1, in };
 *       SecBufferDesc out_desc = { SECBUFFER_VERSION, 1, out_token };
 *       ULONG attrs = 0;
 *       SECURITY_STATUS s = t->InitializeSecurityContextA(
 *           cred, NULL, (SEC_CHAR*)"TERMSRV/server.example.com",
 *           ISC_REQ_DELEGATE | ISC_REQ_MUTUAL_AUTH | ISC_REQ_ALLOCATE_MEMORY, 0, 0, &in_desc, 0,
 *           ctx, &out_desc, &attrs, NULL);
 *       free(in[0].pvBuffer);
 *       return s;   // SEC_I_CONTINUE_NEEDED: SSL_write(tls, out_token->pvBuffer, ...)
 *   }
 *
 *   // Acceptor, after SEC_E_OK:
 *   //   NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR d = { 0 };
 *   //   if (t->QueryContextAttributesA(ctx, NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS, &d) == SEC_E_OK) {
 *   //       ... d.Credentials->User, d.Credentials->Password (UTF-16, NUL-terminated) ...
 *   //       t->FreeContextBuffer(d.Credentials);
 *   //   }
 */
#ifndef NLASSP_CREDSSP_H
#define NLASSP_CREDSSP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SecBuffer type of the parameters buffer (outside SECBUFFER_ATTRMASK and Windows' types). */
#define NLASSP_SECBUFFER_CREDSSP_PARAMS 0x0C550001u

#define NLASSP_CREDSSP_PARAMS_VERSION 1u

/* NLASSP_CREDSSP_PARAMS.KeyFormat */
#define NLASSP_CREDSSP_KEY_NONE 0u                     /* no key in this buffer */
#define NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY_INFO 1u  /* DER SubjectPublicKeyInfo */
#define NLASSP_CREDSSP_KEY_SUBJECT_PUBLIC_KEY 2u       /* its BIT STRING contents */

/* NLASSP_CREDSSP_PARAMS.Flags */
/* Accept the public-key echo of FreeRDP's CredSSP server at versions 2-4 (its plaintext is
 * 01 00 00 ... instead of the key + 1; the signature still verifies). Off by default: the echo
 * then proves nothing about the TLS key. Prefer version 5 or 6, where FreeRDP is correct. */
#define NLASSP_CREDSSP_TOLERATE_FREERDP_ECHO_DEFECT 0x00000001u
/* Refuse to delegate when only NTLM authenticated the server (SEC_E_POLICY_NLTM_ONLY). By
 * default delegation over NTLM is allowed, as RDP clients do once the user accepted the
 * server's TLS certificate. */
#define NLASSP_CREDSSP_NO_NTLM_ONLY_DELEGATION 0x00000002u
/* Initiator: Remote Credential Guard. Send TSRemoteGuardCreds (credType 6) instead of a password:
 * a Kerberos KERB_TICKET_LOGON holding a service ticket for host/<target host> and the user's
 * forwarded TGT (the TGT must be forwardable: kinit -f). Needs Kerberos: after an NTLM logon the
 * call fails with SEC_E_UNSUPPORTED_FUNCTION, a TGT that cannot be forwarded gives
 * SEC_E_DELEGATION_POLICY, in both cases before anything is sent. No password is needed and none
 * is sent. The delegation target policy (DelegateTargets) applies as to a password. An RDP client
 * also sets REDIRECTED_AUTHENTICATION_MODE_REQUIRED in its RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1.1). */
#define NLASSP_CREDSSP_REMOTE_GUARD 0x00000004u
/* With NLASSP_CREDSSP_REMOTE_GUARD: also send a supplemental credential for FreeRDP's servers -
 * one NTLM TSRemoteGuardPackageCred carrying no key (an MSV1_0_REMOTE_SUPPLEMENTAL_CREDENTIAL of
 * version 0xffff0002, InvalidCredKey, no encrypted credentials). FreeRDP's servers (3.10 to at
 * least 3.30) refuse TSRemoteGuardCreds whose optional supplementalCreds is left out ("invalid
 * supplementalCreds"), and 3.10 to 3.18 also one whose list is empty (FreeRDP issue 12007), so
 * without it no client reaches their peer->RemoteCredentials. Off by default: MS-CSSP makes it
 * optional. */
#define NLASSP_CREDSSP_REMOTE_GUARD_FREERDP_COMPAT 0x00000008u

typedef struct nlassp_credssp_params {
	uint32_t cbSize;                 /* sizeof(NLASSP_CREDSSP_PARAMS) */
	uint32_t Version;                /* NLASSP_CREDSSP_PARAMS_VERSION */
	uint32_t Flags;                  /* NLASSP_CREDSSP_* flags above */
	uint32_t MinVersion;             /* lowest TSRequest version accepted (2..6); 0 = 5 (CVE-2018-0886) */
	uint32_t MaxVersion;             /* version offered / highest accepted (2..6); 0 = 6 */
	uint32_t KeyFormat;              /* NLASSP_CREDSSP_KEY_* */
	uint32_t PublicKeyOffset;        /* from the start of the buffer */
	uint32_t PublicKeyLength;
	// Initiator: the targets credentials may be delegated to, as UTF-8 service principal name
	// patterns separated by ';' ('*' matches any run of characters, case-insensitive ASCII), e.g.
	// "TERMSRV/*;HTTP/gw.example.com". Length 0: the default, "TERMSRV/*". Delegation to any
	// other target fails with SEC_E_DELEGATION_POLICY before anything is sent.
	uint32_t DelegateTargetsOffset;
	uint32_t DelegateTargetsLength;
} NLASSP_CREDSSP_PARAMS;

/* QueryContextAttributes attribute ids. */
#define NLASSP_ATTR_CREDSSP_INFO 0x4E4C0C01u
#define NLASSP_ATTR_CREDSSP_DELEGATED_CREDENTIALS 0x4E4C0C02u

/* NLASSP_CREDSSP_INFO.Flags */
#define NLASSP_CREDSSP_INFO_ESTABLISHED 0x00000001u
#define NLASSP_CREDSSP_INFO_DELEGATED 0x00000002u        /* non-empty credentials were sent/received */
#define NLASSP_CREDSSP_INFO_ECHO_DEFECT_SEEN 0x00000004u /* FreeRDP's v2-4 echo defect was tolerated */
#define NLASSP_CREDSSP_INFO_ECHO_DEFECT_REFUSED 0x00000008u /* ... was seen and refused (strict) */
#define NLASSP_CREDSSP_INFO_REMOTE_GUARD 0x00000010u     /* Remote Credential Guard credentials sent/received */

typedef struct nlassp_credssp_info {
	uint32_t Version;        /* negotiated TSRequest version (0 until the peer's is known) */
	uint32_t PeerVersion;    /* the version the peer announced (0 until known) */
	uint32_t Flags;          /* NLASSP_CREDSSP_INFO_* */
	char Mechanism[16];      /* "NTLM", "Kerberos", or "Negotiate" until chosen; NUL-terminated */
} NLASSP_CREDSSP_INFO;

/* NLASSP_CREDSSP_DELEGATED_CREDENTIALS.CredType: TSCredentials credType */
#define NLASSP_CREDSSP_CRED_PASSWORD 1u
#define NLASSP_CREDSSP_CRED_SMARTCARD 2u
#define NLASSP_CREDSSP_CRED_REMOTE_GUARD 6u

typedef struct nlassp_credssp_delegated_credentials {
	uint32_t CredType;
	uint32_t Empty;          /* 1: password credentials with all fields empty (restricted admin) */
	/* UTF-16, NUL-terminated; lengths in characters without the NUL. Password: the password, or
	 * the smart card PIN (opaque: it may hold any code unit). User/Domain: the user and domain, or
	 * the smart card hints, as the client sent them: compare with SECPKG_ATTR_NAMES before use. */
	uint16_t* User;
	uint32_t UserLength;
	uint16_t* Domain;
	uint32_t DomainLength;
	uint16_t* Password;
	uint32_t PasswordLength;
	/* The DER of the TSPasswordCreds / TSSmartCardCreds / TSRemoteGuardCreds as received. */
	uint8_t* Raw;
	uint32_t RawLength;
} NLASSP_CREDSSP_DELEGATED_CREDENTIALS;

typedef struct nlassp_credssp_delegated_credentials_ptr {
	NLASSP_CREDSSP_DELEGATED_CREDENTIALS* Credentials;  /* free with FreeContextBuffer */
} NLASSP_CREDSSP_DELEGATED_CREDENTIALS_PTR;

#ifdef __cplusplus
}
#endif

#endif /* NLASSP_CREDSSP_H */
