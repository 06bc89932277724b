/* See rcg_proof.h. */
#include "rcg_proof.h"

#include <krb5/krb5.h>

#include <stdio.h>
#include <string.h>

struct state
{
	krb5_context k;
	krb5_keytab kt;
	krb5_ticket* ticket;
	krb5_auth_context ac;
	krb5_creds** creds;
	krb5_ccache mem;
	krb5_principal proof;
	krb5_creds* proof_creds;
	struct rcg_proof* out;
};

static int fail(struct state* s, const char* what, krb5_error_code code)
{
	if (code && s->k)
	{
		const char* msg = krb5_get_error_message(s->k, code);
		(void)snprintf(s->out->error, sizeof(s->out->error), "%s: %s", what, msg ? msg : "?");
		krb5_free_error_message(s->k, msg);
	}
	else
		(void)snprintf(s->out->error, sizeof(s->out->error), "%s", what);
	return -1;
}

static void name_of(krb5_context k, krb5_const_principal p, char* buf, size_t len)
{
	char* text = NULL;
	if (krb5_unparse_name(k, p, &text) == 0)
	{
		(void)snprintf(buf, len, "%s", text);
		krb5_free_unparsed_name(k, text);
	}
}

/* 1. The service ticket, decrypted with the keytab. */
static int decrypt_service_ticket(struct state* s, const char* keytab, const unsigned char* st, size_t st_len)
{
	krb5_data d = { 0 };
	d.length = (unsigned int)st_len;
	d.data = (char*)st;
	krb5_error_code code = krb5_decode_ticket(&d, &s->ticket);
	if (code)
		return fail(s, "the service ticket does not decode", code);
	code = keytab ? krb5_kt_resolve(s->k, keytab, &s->kt) : krb5_kt_default(s->k, &s->kt);
	if (code)
		return fail(s, "cannot open the keytab", code);
	code = krb5_server_decrypt_ticket_keytab(s->k, s->kt, s->ticket);
	if (code)
		return fail(s, "the service ticket does not decrypt with the keytab", code);
	name_of(s->k, s->ticket->server, s->out->service, sizeof(s->out->service));
	name_of(s->k, s->ticket->enc_part2->client, s->out->client, sizeof(s->out->client));
	return 0;
}

/* 2.-3. The KRB-CRED: unsealed, else sealed with the ticket's session key; one forwarded TGT. */
static int read_krb_cred(struct state* s, const unsigned char* kc, size_t kc_len)
{
	krb5_data d = { 0 };
	d.length = (unsigned int)kc_len;
	d.data = (char*)kc;
	krb5_error_code code = krb5_auth_con_init(s->k, &s->ac);
	if (code)
		return fail(s, "krb5_auth_con_init", code);
	code = krb5_rd_cred(s->k, s->ac, &d, &s->creds, NULL);
	if (code)
	{
		code = krb5_auth_con_setuseruserkey(s->k, s->ac, s->ticket->enc_part2->session);
		if (!code)
			code = krb5_rd_cred(s->k, s->ac, &d, &s->creds, NULL);
		if (code)
			return fail(s, "the KRB-CRED reads neither unsealed nor with the ticket's session key", code);
		s->out->krb_cred_sealed = 1;
	}
	if (!s->creds[0] || s->creds[1])
		return fail(s, "the KRB-CRED does not hold exactly one ticket", 0);
	const krb5_creds* tgt = s->creds[0];
	name_of(s->k, tgt->server, s->out->tgt_server, sizeof(s->out->tgt_server));
	const krb5_data* realm = &tgt->client->realm;
	krb5_principal krbtgt = NULL;
	code = krb5_build_principal_ext(s->k, &krbtgt, realm->length, realm->data, 6, "krbtgt", realm->length,
	                                realm->data, 0);
	if (code)
		return fail(s, "krb5_build_principal_ext", code);
	const int is_tgt = krb5_principal_compare(s->k, tgt->server, krbtgt);
	krb5_free_principal(s->k, krbtgt);
	if (!is_tgt)
		return fail(s, "the KRB-CRED's ticket is not a ticket-granting ticket", 0);
	if (!krb5_principal_compare(s->k, tgt->client, s->ticket->enc_part2->client))
		return fail(s, "the TGT's client is not the service ticket's client", 0);
	s->out->tgt_forwarded = (tgt->ticket_flags & TKT_FLG_FORWARDED) != 0;
	if (!s->out->tgt_forwarded)
		return fail(s, "the TGT is not flagged forwarded", 0);
	return 0;
}

/* 4. The forwarded TGT at work: a service ticket for proof_spn from the KDC. */
static int use_tgt(struct state* s, const char* proof_spn)
{
	const krb5_creds* tgt = s->creds[0];
	krb5_error_code code = krb5_cc_new_unique(s->k, "MEMORY", NULL, &s->mem);
	if (!code)
		code = krb5_cc_initialize(s->k, s->mem, tgt->client);
	if (!code)
		code = krb5_cc_store_cred(s->k, s->mem, s->creds[0]);
	if (code)
		return fail(s, "cannot store the TGT in a memory ccache", code);
	code = krb5_parse_name(s->k, proof_spn, &s->proof);
	if (code)
		return fail(s, "bad proof principal", code);
	krb5_creds in;
	memset(&in, 0, sizeof(in));
	in.client = tgt->client;
	in.server = s->proof;
	code = krb5_get_credentials(s->k, 0, s->mem, &in, &s->proof_creds);
	if (code)
		return fail(s, "the forwarded TGT did not get a service ticket from the KDC", code);
	name_of(s->k, s->proof_creds->server, s->out->proof_service, sizeof(s->out->proof_service));
	return 0;
}

int rcg_prove(const char* keytab, const unsigned char* service_ticket, size_t service_ticket_len,
              const unsigned char* krb_cred, size_t krb_cred_len, const char* proof_spn,
              struct rcg_proof* out)
{
	struct state s;
	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	s.out = out;
	int rc = -1;
	krb5_error_code code = krb5_init_context(&s.k);
	if (code)
	{
		(void)snprintf(out->error, sizeof(out->error), "krb5_init_context failed (%d)", (int)code);
		return -1;
	}
	if (!service_ticket || service_ticket_len == 0 || !krb_cred || krb_cred_len == 0)
		fail(&s, "the ticket logon lacks a service ticket or a KRB-CRED", 0);
	else if (decrypt_service_ticket(&s, keytab, service_ticket, service_ticket_len) == 0 &&
	         read_krb_cred(&s, krb_cred, krb_cred_len) == 0 && use_tgt(&s, proof_spn) == 0)
		rc = 0;
	if (s.proof_creds)
		krb5_free_creds(s.k, s.proof_creds);
	if (s.proof)
		krb5_free_principal(s.k, s.proof);
	if (s.mem)
		(void)krb5_cc_destroy(s.k, s.mem);
	if (s.creds)
		krb5_free_tgt_creds(s.k, s.creds);
	if (s.ac)
		(void)krb5_auth_con_free(s.k, s.ac);
	if (s.ticket)
		krb5_free_ticket(s.k, s.ticket);
	if (s.kt)
		(void)krb5_kt_close(s.k, s.kt);
	krb5_free_context(s.k);
	return rc;
}
