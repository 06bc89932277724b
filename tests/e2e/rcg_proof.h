/*
 * What a server does with a Remote Credential Guard logon (MS-CSSP TSRemoteGuardCreds carrying a
 * KERB_TICKET_LOGON), done with libkrb5 only, to prove that the client's ticket logon is usable:
 *
 *   1. the service ticket (host/<server>) is decrypted with the server's keytab: its client
 *      principal and session key;
 *   2. the KRB-CRED is read (krb5_rd_cred): first as the unsealed form (enc-part etype 0, as
 *      nlassp and WinPR send it), else sealed with the service ticket's session key;
 *   3. it must hold one ticket-granting ticket krbtgt/REALM@REALM of the same client, flagged
 *      forwarded;
 *   4. that TGT, in a private MEMORY ccache, gets a service ticket for `proof_spn` from the KDC
 *      (the KDC logs a TGS_REQ "<client> for <proof_spn>": nobody else asks for that principal).
 *
 * Used by tests/e2e/nla_server.c (FreeRDP's peer->RemoteCredentials callback).
 */
#ifndef NLASSP_E2E_RCG_PROOF_H
#define NLASSP_E2E_RCG_PROOF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rcg_proof
{
	char client[256];         /* "alice@LAB.TEST" */
	char service[256];        /* the service ticket's server, "host/127.0.0.1@LAB.TEST" */
	char tgt_server[256];     /* "krbtgt/LAB.TEST@LAB.TEST" */
	int krb_cred_sealed;      /* 1: the enc-part was encrypted with the ticket's session key */
	int tgt_forwarded;        /* the TGT carries the forwarded flag */
	char proof_service[256];  /* what the TGT obtained a ticket for */
	char error[512];          /* why not, when rcg_prove() fails */
};

/* 0 when every step above succeeded; -1 with `out->error` set otherwise. `keytab` may be NULL (the
 * default keytab). */
int rcg_prove(const char* keytab, const unsigned char* service_ticket, size_t service_ticket_len,
              const unsigned char* krb_cred, size_t krb_cred_len, const char* proof_spn,
              struct rcg_proof* out);

#ifdef __cplusplus
}
#endif

#endif
