/*
 * nla_server: a minimal RDP server on libfreerdp-server3 for end-to-end NLA tests.
 *
 * It listens on 127.0.0.1 only, accepts up to --max-connections clients one after the other,
 * lets FreeRDP's server core run CredSSP/NLA (optionally through an SSPI module set as
 * FreeRDP_SspiModule), lets the connection reach activation so that a stock
 * `xfreerdp3 +auth-only` client completes, and prints one result line per connection:
 *
 *   nla_server: connection 1: NLA succeeded for LAB\alice (activated: yes; delegated: password)
 *   nla_server: connection 2: NLA failed (client not authenticated)
 *
 * "delegated" says what the client's TSCredentials carried: a password, nothing (restricted
 * admin: empty TSPasswordCreds), or a Remote Credential Guard ticket logon ("remote guard").
 *
 * With --remote-guard PROOF_SPN the server enables Remote Credential Guard and implements FreeRDP's
 * peer->RemoteCredentials callback: it decrypts the KERB_TICKET_LOGON's service ticket with the
 * keytab, reads its KRB-CRED and uses the forwarded TGT to get a ticket for PROOF_SPN from the KDC
 * (rcg_proof.c), and prints
 *
 *   nla_server: connection 1: remote guard: alice@LAB.TEST, ticket for host/127.0.0.1@LAB.TEST
 *     decrypted with the keytab, KRB-CRED unsealed, TGT krbtgt/LAB.TEST@LAB.TEST forwarded, used
 *     for HTTP/proof.lab.test@LAB.TEST
 *
 * (one line), or "remote guard refused: <why>" and a failed login.
 *
 * Exit status: 0 when every handled connection authenticated, 1 when at least one did not,
 * 2 on a usage or setup error, 3 when the time limit passed before --max-connections clients
 * were handled (the results printed so far still count).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winpr/crt.h>
#include <winpr/error.h>
#include <winpr/ssl.h>
#include <winpr/string.h>
#include <winpr/synch.h>
#include <winpr/sysinfo.h>
#include <winpr/wlog.h>

#include <freerdp/freerdp.h>
#include <freerdp/listener.h>
#include <freerdp/peer.h>
#include <freerdp/settings.h>
#include <freerdp/crypto/certificate.h>
#include <freerdp/crypto/privatekey.h>

#include "rcg_proof.h"

#define MAX_PENDING 8

struct server_config
{
	const char* module;
	const char* sam;
	const char* cert;
	const char* key;
	const char* keytab;
	const char* proof_spn; /* --remote-guard: Remote Credential Guard on, the TGT's proof */
	unsigned long port;
	unsigned long max_connections;
	unsigned long timeout_s;
};

struct nla_peer_context
{
	rdpContext base; /* must be first: FreeRDP allocates ContextSize bytes */
	BOOL logged_on;
	BOOL activated;
	char* user;
	char* domain;
	const char* delegated;
	char* rcg_client; /* the Remote Credential Guard client principal, once proved */
	unsigned long index;
	const struct server_config* cfg;
};

static volatile sig_atomic_t g_stop = 0;
static freerdp_peer* g_pending[MAX_PENDING];
static size_t g_pending_count = 0;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(const char* argv0)
{
	fprintf(stderr,
	        "usage: %s --port N --cert FILE --key FILE [--sam FILE] [--module PATH]\n"
	        "          [--keytab FILE] [--max-connections N] [--timeout SECONDS]\n"
	        "          [--remote-guard PROOF_SPN]\n"
	        "  Listens on 127.0.0.1:N. Without --module FreeRDP's built-in NLA is used.\n"
	        "  --remote-guard allows Remote Credential Guard and proves the forwarded TGT by getting\n"
	        "  a ticket for PROOF_SPN with it.\n",
	        argv0);
}

static BOOL parse_ulong(const char* s, unsigned long min, unsigned long max, unsigned long* out)
{
	char* end = NULL;
	errno = 0;
	const unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || !end || *end != '\0' || end == s || v < min || v > max)
		return FALSE;
	*out = v;
	return TRUE;
}

static int parse_args(int argc, char** argv, struct server_config* cfg)
{
	for (int i = 1; i < argc; i++)
	{
		const char* opt = argv[i];
		if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0)
		{
			usage(argv[0]);
			return 1;
		}
		if (i + 1 >= argc)
		{
			fprintf(stderr, "nla_server: option %s needs a value\n", opt);
			return -1;
		}
		const char* val = argv[++i];
		if (strcmp(opt, "--port") == 0)
		{
			if (!parse_ulong(val, 1, 65535, &cfg->port))
				goto bad_value;
		}
		else if (strcmp(opt, "--max-connections") == 0)
		{
			if (!parse_ulong(val, 1, 1000000, &cfg->max_connections))
				goto bad_value;
		}
		else if (strcmp(opt, "--timeout") == 0)
		{
			if (!parse_ulong(val, 1, 86400, &cfg->timeout_s))
				goto bad_value;
		}
		else if (strcmp(opt, "--module") == 0)
			cfg->module = val;
		else if (strcmp(opt, "--sam") == 0)
			cfg->sam = val;
		else if (strcmp(opt, "--cert") == 0)
			cfg->cert = val;
		else if (strcmp(opt, "--key") == 0)
			cfg->key = val;
		else if (strcmp(opt, "--keytab") == 0)
			cfg->keytab = val;
		else if (strcmp(opt, "--remote-guard") == 0)
			cfg->proof_spn = val;
		else
		{
			fprintf(stderr, "nla_server: unknown option %s\n", opt);
			return -1;
		}
		continue;
	bad_value:
		fprintf(stderr, "nla_server: bad value for %s: %s\n", opt, val);
		return -1;
	}
	if (cfg->port == 0 || !cfg->cert || !cfg->key)
	{
		fprintf(stderr, "nla_server: --port, --cert and --key are required\n");
		return -1;
	}
	return 0;
}

static BOOL on_logon(freerdp_peer* client, const SEC_WINNT_AUTH_IDENTITY* identity, BOOL automatic)
{
	struct nla_peer_context* ctx = (struct nla_peer_context*)client->context;
	(void)identity;
	/* The core calls Logon with automatic == TRUE only after NLA (PROTOCOL_HYBRID) succeeded.
	 * The user and domain come from the TSCredentials the client delegated, which the server
	 * could only read after decrypting them through the SSPI context. */
	if (!automatic)
		return FALSE;
	const rdpSettings* settings = client->context->settings;
	const char* user = freerdp_settings_get_string(settings, FreeRDP_Username);
	const char* domain = freerdp_settings_get_string(settings, FreeRDP_Domain);
	const char* password = freerdp_settings_get_string(settings, FreeRDP_Password);
	free(ctx->user);
	free(ctx->domain);
	ctx->user = NULL;
	ctx->domain = NULL;
	if (ctx->rcg_client)
	{
		/* Remote Credential Guard: no password, the user is the proved ticket's client. */
		char* at = strrchr(ctx->rcg_client, '@');
		ctx->user = at ? strndup(ctx->rcg_client, (size_t)(at - ctx->rcg_client)) : _strdup(ctx->rcg_client);
		ctx->domain = _strdup(at ? at + 1 : "");
		ctx->delegated = "remote guard";
	}
	else
	{
		ctx->user = _strdup(user ? user : "");
		ctx->domain = _strdup(domain ? domain : "");
		ctx->delegated = (password && *password) ? "password" : "none";
	}
	ctx->logged_on = ctx->user && ctx->domain;
	return ctx->logged_on;
}

/* FreeRDP's server calls this with the client's TSRemoteGuardCreds (nla.c). */
static BOOL on_remote_credentials(freerdp_peer* client, KERB_TICKET_LOGON* logon,
                                  MSV1_0_SUPPLEMENTAL_CREDENTIAL* supplemental)
{
	struct nla_peer_context* ctx = (struct nla_peer_context*)client->context;
	(void)supplemental;
	struct rcg_proof proof;
	if (!logon || logon->MessageType != KerbTicketLogon)
	{
		printf("nla_server: connection %lu: remote guard refused: not a KERB_TICKET_LOGON\n", ctx->index);
		fflush(stdout);
		return FALSE;
	}
	if (rcg_prove(ctx->cfg->keytab, logon->ServiceTicket, logon->ServiceTicketLength,
	              logon->TicketGrantingTicket, logon->TicketGrantingTicketLength, ctx->cfg->proof_spn,
	              &proof) != 0)
	{
		printf("nla_server: connection %lu: remote guard refused: %s\n", ctx->index, proof.error);
		fflush(stdout);
		return FALSE;
	}
	printf("nla_server: connection %lu: remote guard: %s, flags 0x%" PRIx32 ", ticket for %s decrypted with "
	       "the keytab, KRB-CRED %s, TGT %s %s, used for %s\n",
	       ctx->index, proof.client, (uint32_t)logon->Flags, proof.service,
	       proof.krb_cred_sealed ? "sealed with the ticket's session key" : "unsealed",
	       proof.tgt_server, proof.tgt_forwarded ? "forwarded" : "not forwarded", proof.proof_service);
	fflush(stdout);
	free(ctx->rcg_client);
	ctx->rcg_client = _strdup(proof.client);
	return ctx->rcg_client != NULL;
}

static BOOL on_post_connect(freerdp_peer* client)
{
	(void)client;
	return TRUE;
}

static BOOL on_activate(freerdp_peer* client)
{
	struct nla_peer_context* ctx = (struct nla_peer_context*)client->context;
	ctx->activated = TRUE;
	return TRUE;
}

static void peer_context_free(freerdp_peer* client, rdpContext* context)
{
	(void)client;
	struct nla_peer_context* ctx = (struct nla_peer_context*)context;
	if (!ctx)
		return;
	free(ctx->user);
	free(ctx->domain);
	free(ctx->rcg_client);
	ctx->user = NULL;
	ctx->domain = NULL;
	ctx->rcg_client = NULL;
}

static BOOL configure_peer(freerdp_peer* client, const struct server_config* cfg)
{
	rdpSettings* settings = client->context->settings;

	rdpPrivateKey* key = freerdp_key_new_from_file(cfg->key);
	if (!key)
	{
		fprintf(stderr, "nla_server: cannot read private key %s\n", cfg->key);
		return FALSE;
	}
	if (!freerdp_settings_set_pointer_len(settings, FreeRDP_RdpServerRsaKey, key, 1))
	{
		freerdp_key_free(key);
		return FALSE;
	}
	rdpCertificate* cert = freerdp_certificate_new_from_file(cfg->cert);
	if (!cert)
	{
		fprintf(stderr, "nla_server: cannot read certificate %s\n", cfg->cert);
		return FALSE;
	}
	if (!freerdp_settings_set_pointer_len(settings, FreeRDP_RdpServerCertificate, cert, 1))
	{
		freerdp_certificate_free(cert);
		return FALSE;
	}

	if (!freerdp_settings_set_bool(settings, FreeRDP_RdpSecurity, FALSE) ||
	    !freerdp_settings_set_bool(settings, FreeRDP_TlsSecurity, FALSE) ||
	    !freerdp_settings_set_bool(settings, FreeRDP_NlaSecurity, TRUE) ||
	    !freerdp_settings_set_uint32(settings, FreeRDP_ColorDepth, 32) ||
	    !freerdp_settings_set_bool(settings, FreeRDP_SuppressOutput, TRUE) ||
	    !freerdp_settings_set_bool(settings, FreeRDP_RefreshRect, TRUE))
		return FALSE;

	if (cfg->module && !freerdp_settings_set_string(settings, FreeRDP_SspiModule, cfg->module))
		return FALSE;
	if (cfg->sam && !freerdp_settings_set_string(settings, FreeRDP_NtlmSamFile, cfg->sam))
		return FALSE;
	if (cfg->keytab &&
	    !freerdp_settings_set_string(settings, FreeRDP_KerberosKeytab, cfg->keytab))
		return FALSE;
	if (cfg->proof_spn)
	{
		if (!freerdp_settings_set_bool(settings, FreeRDP_RemoteCredentialGuard, TRUE))
			return FALSE;
		client->RemoteCredentials = on_remote_credentials;
	}

	client->Logon = on_logon;
	client->PostConnect = on_post_connect;
	client->Activate = on_activate;
	return TRUE;
}

/* Runs one client to completion (disconnect or deadline). Returns TRUE if NLA succeeded. */
static BOOL serve_peer(freerdp_peer* client, const struct server_config* cfg, unsigned long index,
                       UINT64 deadline)
{
	BOOL ok = FALSE;
	const char* why = "setup failed";

	client->ContextSize = sizeof(struct nla_peer_context);
	client->ContextFree = peer_context_free;
	if (!freerdp_peer_context_new(client))
	{
		fprintf(stderr, "nla_server: freerdp_peer_context_new failed\n");
		freerdp_peer_free(client);
		printf("nla_server: connection %lu: NLA failed (%s)\n", index, why);
		fflush(stdout);
		return FALSE;
	}
	struct nla_peer_context* ctx = (struct nla_peer_context*)client->context;
	ctx->index = index;
	ctx->cfg = cfg;

	if (!configure_peer(client, cfg) || !client->Initialize(client))
		goto out;

	why = "client not authenticated";
	while (!g_stop)
	{
		const UINT64 now = GetTickCount64();
		if (now >= deadline)
		{
			why = "time limit reached";
			break;
		}
		HANDLE handles[MAXIMUM_WAIT_OBJECTS] = { 0 };
		const DWORD count = client->GetEventHandles(client, handles, ARRAYSIZE(handles));
		if (count == 0)
		{
			why = "no transport event handles";
			break;
		}
		const UINT64 left = deadline - now;
		const DWORD wait_ms = (DWORD)(left < 500 ? left : 500);
		const DWORD status = WaitForMultipleObjects(count, handles, FALSE, wait_ms);
		if (status == WAIT_FAILED)
		{
			why = "wait failed";
			break;
		}
		if (status == WAIT_TIMEOUT)
			continue;
		/* On a refused login FreeRDP's server sends the client an errorCode made from
		 * GetLastError() (nla.c, nla_server_authenticate). Start every step from a clean value,
		 * as in freerdp-shadow-cli3's fresh per-client threads, so that code depends only on
		 * what the SSPI package set, not on an earlier connection. */
		SetLastError(0);
		if (!client->CheckFileDescriptor(client))
			break; /* the client went away (normal after +auth-only) or the connection failed */
	}
	client->Disconnect(client);
	ok = ctx->logged_on;

out:
	if (ok)
		printf("nla_server: connection %lu: NLA succeeded for %s\\%s (activated: %s; delegated: %s)\n", index,
		       ctx->domain ? ctx->domain : "", ctx->user ? ctx->user : "",
		       ctx->activated ? "yes" : "no", ctx->delegated ? ctx->delegated : "?");
	else
		printf("nla_server: connection %lu: NLA failed (%s)\n", index, why);
	fflush(stdout);
	freerdp_peer_context_free(client);
	freerdp_peer_free(client);
	return ok;
}

static BOOL on_peer_accepted(freerdp_listener* listener, freerdp_peer* client)
{
	(void)listener;
	if (g_pending_count >= MAX_PENDING)
		return FALSE; /* the listener frees the peer */
	g_pending[g_pending_count++] = client;
	return TRUE;
}

int main(int argc, char** argv)
{
	struct server_config cfg = { .max_connections = 1, .timeout_s = 60 };
	const int parsed = parse_args(argc, argv, &cfg);
	if (parsed != 0)
	{
		if (parsed < 0)
			usage(argv[0]);
		return parsed > 0 ? 0 : 2;
	}

	(void)signal(SIGINT, on_signal);
	(void)signal(SIGTERM, on_signal);
	(void)signal(SIGPIPE, SIG_IGN);

	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);

	freerdp_listener* listener = freerdp_listener_new();
	if (!listener)
		return 2;
	listener->PeerAccepted = on_peer_accepted;
	if (!listener->Open(listener, "127.0.0.1", (UINT16)cfg.port))
	{
		fprintf(stderr, "nla_server: cannot listen on 127.0.0.1:%lu\n", cfg.port);
		freerdp_listener_free(listener);
		return 2;
	}
	printf("nla_server: listening on 127.0.0.1:%lu, NLA via %s, SAM %s, up to %lu connection(s), "
	       "%lu s limit\n",
	       cfg.port, cfg.module ? cfg.module : "FreeRDP's built-in SSPI",
	       cfg.sam ? cfg.sam : "(none)", cfg.max_connections, cfg.timeout_s);
	fflush(stdout);

	const UINT64 deadline = GetTickCount64() + (UINT64)cfg.timeout_s * 1000u;
	unsigned long handled = 0;
	unsigned long failed = 0;
	int rc = 0;

	while (!g_stop && handled < cfg.max_connections)
	{
		const UINT64 now = GetTickCount64();
		if (now >= deadline)
		{
			printf("nla_server: time limit reached after %lu of %lu connection(s)\n", handled,
			       cfg.max_connections);
			rc = 3;
			break;
		}
		HANDLE handles[32] = { 0 };
		const DWORD count = listener->GetEventHandles(listener, handles, ARRAYSIZE(handles));
		if (count == 0)
		{
			fprintf(stderr, "nla_server: no listener event handles\n");
			rc = 2;
			break;
		}
		const UINT64 left = deadline - now;
		const DWORD status =
		    WaitForMultipleObjects(count, handles, FALSE, (DWORD)(left < 500 ? left : 500));
		if (status == WAIT_FAILED)
		{
			rc = 2;
			break;
		}
		if (status == WAIT_TIMEOUT)
			continue;
		if (!listener->CheckFileDescriptor(listener))
		{
			fprintf(stderr, "nla_server: listener failed\n");
			rc = 2;
			break;
		}
		for (size_t i = 0; i < g_pending_count; i++)
		{
			freerdp_peer* client = g_pending[i];
			g_pending[i] = NULL;
			if (handled >= cfg.max_connections || g_stop)
			{
				freerdp_peer_free(client);
				continue;
			}
			handled++;
			if (!serve_peer(client, &cfg, handled, deadline))
				failed++;
		}
		g_pending_count = 0;
	}

	listener->Close(listener);
	freerdp_listener_free(listener);

	printf("nla_server: done: %lu connection(s), %lu authenticated, %lu failed\n", handled,
	       handled - failed, failed);
	fflush(stdout);
	if (rc == 0 && failed > 0)
		rc = 1;
	return rc;
}
