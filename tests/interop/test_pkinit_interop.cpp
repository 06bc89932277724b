// Smartcard logon (Kerberos PKINIT) through the module's SSPI table, the way FreeRDP drives it
// (tests/interop/harness): kerberosSettings.pkinitX509Identity names a FILE: certificate and key
// or a SoftHSM2 token, the password is the PIN, against a throwaway MIT KDC with PKINIT
// (tests/lab/kdc.sh + pkinit.sh: alice has a random key, so only PKINIT can log her in) and
// WinPR's Kerberos acceptor (or ours) with the keytab.
//
// Every identity is checked for the exact status: good ones log in (the KDC logs a PKINIT request
// and never a failed pre-authentication), broken ones fail on the client's first call with their
// own status and, where the card itself is at fault, without any KDC request. WinPR's built-in
// client is run on the same identities and its outcome printed ("finding: ...").
//
// Our log is read through WLog's FILE appender (set in main() before WinPR starts): failures that
// are not the card's or PKINIT's own (an unknown user, a KDC that is down, a disabled account)
// must say what they are, never that MIT's PKINIT plugin is missing.
#include <winpr/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "interop/fixture.h"
#include "interop/kdc_lab.h"

#ifndef NLASSP_KDC_SH
#error "NLASSP_KDC_SH must name tests/lab/kdc.sh"
#endif
#ifndef NLASSP_PKINIT_SH
#error "NLASSP_PKINIT_SH must name tests/lab/pkinit.sh"
#endif

using namespace nlassp::interop;

namespace {

constexpr Impl M = Impl::Module;
constexpr Impl W = Impl::WinPR;

KdcLab g_lab;
bool g_ready = false;
std::string g_krb5_conf;       // the lab's krb5.conf
std::string g_no_pkinit_conf;  // the same with [plugins] clpreauth disable = pkinit
std::string g_no_timesync_conf; // the same with kdc_timesync = 0
bool g_kdc_time_shifted = false;   // the KDC runs under libfaketime (kdc_clock_skew)
bool g_kdc_stopped = false;        // a test stopped the KDC
bool g_alice_disabled = false;     // a test disabled alice's account
std::string g_log_dir;
std::string g_log;                 // our WLog file
size_t g_log_mark = 0;
constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

std::string env(const char* name)
{
	return kdc_lab_env(g_lab, name);
}

std::string read_text(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

int group_setup(void**)
{
	const char* kdc_sh = std::getenv("NLASSP_KDC_SH");
	std::string why;
	const std::string extra = std::string(". '") + NLASSP_PKINIT_SH + "' && pkinit_setup && pkinit_softhsm_setup";
	if (!kdc_lab_start_with(g_lab, kdc_sh && *kdc_sh ? kdc_sh : NLASSP_KDC_SH, extra, &why)) {
		print_error("cannot start the PKINIT lab: %s\n", why.c_str());
		kdc_lab_teardown(g_lab);
		return -1;
	}
	setenv("SOFTHSM2_CONF", env("SOFTHSM2_CONF").c_str(), 1);
	g_krb5_conf = g_lab.krb5_conf();
	g_no_pkinit_conf = g_lab.dir + "/krb5-no-pkinit.conf";
	std::ofstream(g_no_pkinit_conf) << read_text(g_krb5_conf) << "\n[plugins]\n\tclpreauth = {\n\t\tdisable = pkinit\n\t}\n";
	g_no_timesync_conf = g_lab.dir + "/krb5-no-timesync.conf";
	std::string conf = read_text(g_krb5_conf);
	conf.replace(conf.find("[libdefaults]"), 13, "[libdefaults]\n\tkdc_timesync = 0");
	std::ofstream(g_no_timesync_conf) << conf;
	g_ready = true;
	return 0;
}

int group_teardown(void**)
{
	kdc_lab_teardown(g_lab);
	return 0;
}

int pk_setup(void** state)
{
	if (!g_ready || fixture_setup(state) != 0)
		return -1;
	static_cast<Fixture*>(*state)->expected_domain = "LAB.TEST";
	setenv("KRB5_CONFIG", g_krb5_conf.c_str(), 1);
	return 0;
}

// (Re)starts the KDC, shifted in time by `shift` under libfaketime ("" for the real clock).
bool restart_kdc(const char* shift)
{
	kdc_lab_stop_kdc(g_lab);
	if (*shift) {
		setenv("LD_PRELOAD", kFaketime, 1);
		setenv("FAKETIME", shift, 1);
	}
	std::string why;
	const bool ok = kdc_lab_start_kdc(g_lab, &why);
	unsetenv("LD_PRELOAD");
	unsetenv("FAKETIME");
	g_kdc_time_shifted = ok && *shift;
	if (!ok)
		print_error("cannot restart the lab KDC: %s\n", why.c_str());
	return ok;
}

int pk_teardown(void** state)
{
	setenv("KRB5_CONFIG", g_krb5_conf.c_str(), 1);
	if ((g_kdc_time_shifted || g_kdc_stopped) && !restart_kdc(""))
		return -1;
	g_kdc_stopped = false;
	if (g_alice_disabled && !kdc_lab_kadmin(g_lab, "modprinc +allow_tix alice"))
		return -1;
	g_alice_disabled = false;
	return fixture_teardown(state);
}

// Our log lines since the last run began.
std::vector<std::string> our_lines()
{
	const std::string text = read_text(g_log);
	std::vector<std::string> out;
	std::istringstream in(text.size() > g_log_mark ? text.substr(g_log_mark) : std::string());
	std::string line;
	while (std::getline(in, line))
		if (line.find("[com.nlassp.") != std::string::npos)
			out.push_back(line);
	return out;
}

// Our lines (since the last run began) containing every needle.
int lines_with(std::initializer_list<const char*> needles)
{
	int n = 0;
	for (const std::string& l : our_lines()) {
		bool all = true;
		for (const char* needle : needles)
			all = all && l.find(needle) != std::string::npos;
		n += all ? 1 : 0;
	}
	return n;
}

void print_our_lines()
{
	for (const std::string& l : our_lines())
		print_message("  log: %s\n", l.c_str());
}

// Lines of the KDC log containing `what`.
int kdc_lines(const char* what)
{
	std::ifstream log(g_lab.log());
	int n = 0;
	std::string line;
	while (std::getline(log, line))
		n += line.find(what) != std::string::npos ? 1 : 0;
	return n;
}

struct KdcCounts {
	int pkinit = kdc_lines("freshness token received from alice@LAB.TEST");
	int preauth_failed = kdc_lines("PREAUTH_FAILED");
	// A password's pre-authentication (the KDC logs each encrypted timestamp it checks and refuses).
	int password_preauth = kdc_lines("preauth (encrypted_timestamp)");
	int as_req = kdc_lines("AS_REQ");
	int tgs = kdc_lines("TGS_REQ");
};

std::string file_identity(const std::string& cert, const std::string& key)
{
	return "FILE:" + cert + "," + key;
}

std::string pkcs11_identity(const std::string& slot)
{
	return "PKCS11:module_name=" + env("PKINIT_P11_MODULE") + ":slotid=" + slot;
}

// What FreeRDP's smartcardlogon.c writes for a slot id: its low 16 bits (PRIu16).
std::string freerdp_slot(const std::string& slot)
{
	return std::to_string(std::stoull(slot) & 0xffffu);
}

// Windows' CredMarshalCredential(CertCredential) of the certificate's SHA-1 ("@@B" + 27 chars).
std::string marshalled_name(const std::string& der_file)
{
	const std::string der = read_text(der_file);
	BYTE hash[20] = {};
	if (!winpr_Digest(WINPR_MD_SHA1, reinterpret_cast<const BYTE*>(der.data()), der.size(), hash, sizeof(hash)))
		return {};
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#-";
	std::string out = "@@B";
	uint32_t acc = 0;
	unsigned bits = 0;
	for (BYTE b : hash) {
		acc |= static_cast<uint32_t>(b) << bits;
		for (bits += 8; bits >= 6; bits -= 6, acc >>= 6)
			out += alphabet[acc & 0x3f];
	}
	if (bits)
		out += alphabet[acc & 0x3f];
	return out;
}

// A smartcard logon as FreeRDP sets it up: the user and domain from the certificate's UPN, the
// PIN as the password, Negotiate, no package list.
void configure_card(Fixture* fx, Impl client, Impl server, const std::string& identity, const std::string& anchors,
                    const std::string& pin)
{
	configure(fx, client, server, "Negotiate", false);
	Config& c = fx->config;
	c.client.user = "alice";
	c.client.domain = "LAB.TEST";
	c.client.password = pin;
	c.client.package_list.clear();
	c.client.pkinit_identity = identity;
	c.client.pkinit_anchors = anchors;
	c.server.keytab = g_lab.keytab();
	c.server.sam_file = fx->sam;
	c.messages = 1;
}

void print_outcome(Fixture* fx, const char* what)
{
	const Result& r = fx->result;
	if (r.established)
		print_message("finding: %s: established after %d calls\n", what, r.calls);
	else
		print_message("finding: %s: %s on the %s's call %d\n", what, status_string(r.failure_status).c_str(),
		              side_name(r.failed_side), r.failed_call);
}

// The module logs in with PKINIT: a complete login, one PKINIT request verified by the KDC, a
// service ticket, and no failed pre-authentication.
void expect_pkinit_login(Fixture* fx, Impl server)
{
	const KdcCounts before;
	run(fx);
	expect_full_success(fx, server);
	const KdcCounts after;
	EXPECT_TRUE(fx, after.pkinit == before.pkinit + 1);
	EXPECT_TRUE(fx, after.preauth_failed == before.preauth_failed);
	EXPECT_TRUE(fx, after.password_preauth == before.password_preauth);
	EXPECT_TRUE(fx, after.tgs == before.tgs + 1);
	// The tickets went into a private memory cache: the user's own ccache was never written.
	EXPECT_TRUE(fx, access(g_lab.default_ccache().substr(5).c_str(), F_OK) != 0);
}

// The client's first call fails with `expected`; `kdc_requests` says whether the KDC may have
// been asked at all (not when the card itself is at fault). Never a password pre-authentication,
// and no PKINIT request the KDC accepted.
void expect_refusal(Fixture* fx, SECURITY_STATUS expected, bool kdc_requests)
{
	const KdcCounts before;
	g_log_mark = read_text(g_log).size();
	run(fx);
	const KdcCounts after;
	const Result& r = fx->result;
	EXPECT_TRUE(fx, r.failed && !r.hang);
	EXPECT_TRUE(fx, r.failed_side == Side::Client && r.failed_call == 0);
	EXPECT_TRUE(fx, r.tokens.empty());
	EXPECT_STATUS(fx, r.failure_status, expected);
	EXPECT_TRUE(fx, after.password_preauth == before.password_preauth);
	EXPECT_TRUE(fx, after.pkinit == before.pkinit);
	if (!kdc_requests)
		EXPECT_TRUE(fx, after.as_req == before.as_req);
}

void card_login(void** state, const std::string& identity, Impl server = W)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_card(fx, M, server, identity, env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	expect_pkinit_login(fx, server);
}

void card_refusal(void** state, const std::string& identity, const std::string& anchors, const std::string& pin,
                  SECURITY_STATUS expected, bool kdc_requests)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_card(fx, M, W, identity, anchors, pin);
	expect_refusal(fx, expected, kdc_requests);
}

std::string user_files()
{
	return file_identity(env("PKINIT_USER_CERT"), env("PKINIT_USER_KEY"));
}

void marshalled_login(void** state, const std::string& identity, const std::string& der, SECURITY_STATUS expected)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_card(fx, M, W, identity, env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.client.user = marshalled_name(der);
	fx->config.client.domain.clear();
	EXPECT_TRUE(fx, fx->config.client.user.size() == 30);
	if (expected == SEC_E_OK)
		expect_pkinit_login(fx, W);
	else
		expect_refusal(fx, expected, false);
}

void marshalled_refusal(void** state, const std::string& user)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.client.user = user;
	fx->config.client.domain.clear();
	expect_refusal(fx, SEC_E_INVALID_PARAMETER, false);
}

// WinPR's built-in client on the same identity: printed, with what the KDC saw.
void winpr_side_by_side(void** state, const std::string& identity, const char* what)
{
	auto* fx = static_cast<Fixture*>(*state);
	configure_card(fx, W, M, identity, env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	const KdcCounts before;
	run(fx);
	const KdcCounts after;
	print_outcome(fx, what);
	print_message("finding: %s: the KDC verified %d PKINIT request(s) and refused %d encrypted timestamp(s) "
	              "(a password pre-authentication keyed from the PIN)\n",
	              what, after.pkinit - before.pkinit, after.password_preauth - before.password_preauth);
}

// Runs `rounds` logins with `config` on each of `threads` threads, all started together; returns
// how many logged in completely (sealed messages both ways, our server's AUTH_IDENTITY alice) and
// puts the first failure's trace into `first_failure`. Everything with a destructor lives here, not
// in the test body (CMocka's asserts longjmp).
int logins_at_once(const Config& config, int threads, int rounds, std::string& first_failure)
{
	std::atomic<int> ok{0};
	std::atomic<int> started{0};
	std::mutex mutex;
	std::vector<std::thread> pool;
	for (int t = 0; t < threads; t++)
		pool.emplace_back([&, t] {
			Config c = config;
			// One thread names the token by its slot, the other as FreeRDP does (16 bits): our slot
			// search then runs while the other logon is in MIT's exchange.
			if (t % 2)
				c.client.pkinit_identity = pkcs11_identity(env("PKINIT_SLOT"));
			started++;
			while (started.load() < threads)
				std::this_thread::yield();
			for (int i = 0; i < rounds; i++) {
				Result r;
				run_login(c, r);
				if (r.established && r.messages_ok && r.auth_identity_status == SEC_E_OK && r.auth_identity_user == "alice") {
					ok++;
					continue;
				}
				std::lock_guard<std::mutex> lock(mutex);
				if (first_failure.empty())
					first_failure = "thread " + std::to_string(t) + " logon " + std::to_string(i) + ":\n" + r.describe();
			}
		});
	for (std::thread& th : pool)
		th.join();
	return ok.load();
}

} // namespace

// ---- logins ---------------------------------------------------------------------------------

static void file_certificate_and_key(void** s) { card_login(s, user_files()); }
static void file_certificate_to_module_server(void** s) { card_login(s, user_files(), M); }
static void file_encrypted_key_opens_with_pin(void** s)
{
	card_login(s, file_identity(env("PKINIT_USER_CERT"), env("PKINIT_USER_KEY_ENC")));
}
static void token_by_exact_slot(void** s) { card_login(s, pkcs11_identity(env("PKINIT_SLOT"))); }
// FreeRDP's 16-bit slotid=: the module finds the token among the module's slots.
static void token_by_freerdp_16bit_slot(void** s) { card_login(s, pkcs11_identity(freerdp_slot(env("PKINIT_SLOT")))); }
static void token_without_slot(void** s) { card_login(s, "PKCS11:module_name=" + env("PKINIT_P11_MODULE")); }
static void token_to_module_server(void** s) { card_login(s, pkcs11_identity(freerdp_slot(env("PKINIT_SLOT"))), M); }
// No user name: the principal comes from the certificate (its id-pkinit-san).
static void principal_from_certificate(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.client.user.clear();
	fx->config.client.domain.clear();
	expect_pkinit_login(fx, W);
}

// Two smartcard logons in one process at the same time through the same PKCS#11 module (a
// server's gateway or a multi-session client): MIT's PKINIT initialises the module for its
// exchange and finalises it after, so without pkcs11::ModuleUse one logon's C_Finalize pulls the
// module from under the other (CKR_CRYPTOKI_NOT_INITIALIZED, or MIT refusing
// CKR_CRYPTOKI_ALREADY_INITIALIZED). All must succeed, each with its own PKINIT request.
static void token_logons_at_once(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, M, pkcs11_identity(freerdp_slot(env("PKINIT_SLOT"))), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.messages = 1;
	constexpr int kThreads = 2;
	constexpr int kRounds = 3;
	const KdcCounts before;
	const int ok = logins_at_once(fx->config, kThreads, kRounds, fx->why);
	const KdcCounts after;
	if (!fx->why.empty())
		print_message("%s\n", fx->why.c_str());
	assert_int_equal(ok, kThreads * kRounds);
	EXPECT_TRUE(fx, after.pkinit == before.pkinit + kThreads * kRounds);
	EXPECT_TRUE(fx, after.password_preauth == before.password_preauth);
	EXPECT_TRUE(fx, after.preauth_failed == before.preauth_failed);
}

// ---- the card at fault: refused before any KDC request ------------------------------------------

static void token_wrong_pin(void** s)
{
	card_refusal(s, pkcs11_identity(freerdp_slot(env("PKINIT_SLOT"))), env("PKINIT_ANCHORS"), "00000000",
	             static_cast<SECURITY_STATUS>(0x8010006B) /* SCARD_W_WRONG_CHV */, false);
}
static void token_no_pin(void** s)
{
	card_refusal(s, pkcs11_identity(env("PKINIT_SLOT")), env("PKINIT_ANCHORS"), "",
	             static_cast<SECURITY_STATUS>(0x8010006B), false);
}
// The token reports its user PIN locked: refused without trying the PIN.
static void token_pin_locked(void** s)
{
	card_refusal(s, pkcs11_identity(env("PKINIT_LOCKED_SLOT")), env("PKINIT_ANCHORS"), env("PKINIT_PIN"),
	             static_cast<SECURITY_STATUS>(0x8010006C) /* SCARD_W_CHV_BLOCKED */, false);
}
static void file_encrypted_key_wrong_pin(void** s)
{
	card_refusal(s, file_identity(env("PKINIT_USER_CERT"), env("PKINIT_USER_KEY_ENC")), env("PKINIT_ANCHORS"), "00000000",
	             static_cast<SECURITY_STATUS>(0x8010006B), false);
}
static void file_missing_certificate(void** s)
{
	card_refusal(s, file_identity(g_lab.dir + "/no-such-cert.pem", env("PKINIT_USER_KEY")), env("PKINIT_ANCHORS"),
	             env("PKINIT_PIN"), static_cast<SECURITY_STATUS>(0x8010002C) /* SCARD_E_NO_SUCH_CERTIFICATE */, false);
}
static void file_missing_key(void** s)
{
	card_refusal(s, file_identity(env("PKINIT_USER_CERT"), g_lab.dir + "/no-such-key.pem"), env("PKINIT_ANCHORS"),
	             env("PKINIT_PIN"), static_cast<SECURITY_STATUS>(0x8010002C), false);
}
static void file_key_of_another_certificate(void** s)
{
	card_refusal(s, file_identity(env("PKINIT_USER_CERT"), env("PKINIT_ROGUE_KEY")), env("PKINIT_ANCHORS"),
	             env("PKINIT_PIN"), static_cast<SECURITY_STATUS>(0x8010002C), false);
}
static void token_without_certificate(void** s)
{
	card_refusal(s, pkcs11_identity(env("PKINIT_EMPTY_SLOT")), env("PKINIT_ANCHORS"), env("PKINIT_PIN"),
	             static_cast<SECURITY_STATUS>(0x8010002C), false);
}
static void token_module_missing(void** s)
{
	card_refusal(s, "PKCS11:module_name=" + g_lab.dir + "/no-such-pkcs11.so", env("PKINIT_ANCHORS"), env("PKINIT_PIN"),
	             static_cast<SECURITY_STATUS>(0x8010000C) /* SCARD_E_NO_SMARTCARD */, false);
}
static void token_module_not_pkcs11(void** s)
{
	card_refusal(s, "PKCS11:module_name=libz.so.1", env("PKINIT_ANCHORS"), env("PKINIT_PIN"),
	             static_cast<SECURITY_STATUS>(0x8010000C), false);
}
static void token_label_unknown(void** s)
{
	card_refusal(s, "PKCS11:module_name=" + env("PKINIT_P11_MODULE") + ":token=no-such-token", env("PKINIT_ANCHORS"),
	             env("PKINIT_PIN"), static_cast<SECURITY_STATUS>(0x8010000C), false);
}
static void garbage_identity_strings(void** s)
{
	const std::string module = env("PKINIT_P11_MODULE");
	const std::string garbage[] = {
	    "nonsense",
	    "FILE:",
	    "FILE:,",
	    "FILE:cert.pem,",
	    "PKCS11:",
	    "PKCS11:module_name=",
	    "PKCS11:module_name=" + module + ":slotid=twelve",
	    "PKCS11:module_name=" + module + ":slotid=-1",
	    "PKCS11:module_name=" + module + ":slotid=99999999999999999999999",
	    "PKCS11:module_name=" + module + ":certid=0",
	    "PKCS11:module_name=" + module + ":certid=zz",
	    "PKCS11:module_name=" + module + ":pin=1234",
	    "PKCS11:module_name=" + module + ":slotid=1:slotid=2",
	    "PKCS11:module_name=" + module + "\n:slotid=1",
	    "PKCS12:",
	    std::string(5000, 'A'),
	};
	for (const std::string& g : garbage)
		card_refusal(s, g, env("PKINIT_ANCHORS"), env("PKINIT_PIN"), SEC_E_INVALID_PARAMETER, false);
}

// ---- trust and configuration ----------------------------------------------------------------------

// The KDC does not trust the CA of the card's certificate (we do, so MIT sends it).
static void kdc_refuses_card_ca(void** s)
{
	card_refusal(s, file_identity(env("PKINIT_ROGUE_CERT"), env("PKINIT_ROGUE_KEY")), env("PKINIT_ANCHORS_ROGUE"),
	             env("PKINIT_PIN"), SEC_E_ISSUING_CA_UNTRUSTED, true);
}
// Our anchors do not hold the CA of the KDC's certificate.
static void kdc_certificate_untrusted(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS_NO_KDC"), env("PKINIT_PIN"));
	const KdcCounts before;
	run(fx);
	const KdcCounts after;
	// The KDC accepted the card (and says so); we refuse its reply.
	EXPECT_TRUE(fx, after.pkinit == before.pkinit + 1);
	EXPECT_TRUE(fx, after.preauth_failed == before.preauth_failed);
	EXPECT_TRUE(fx, fx->result.failed && fx->result.failed_call == 0 && fx->result.tokens.empty());
	EXPECT_STATUS(fx, fx->result.failure_status, SEC_E_ISSUING_CA_UNTRUSTED_KDC);
}
// Our anchors do not hold the CA of the card's own certificate: MIT will not send it.
static void anchors_without_card_ca(void** s)
{
	card_refusal(s, file_identity(env("PKINIT_ROGUE_CERT"), env("PKINIT_ROGUE_KEY")), env("PKINIT_ANCHORS"),
	             env("PKINIT_PIN"), SEC_E_ISSUING_CA_UNTRUSTED, true);
}
static void no_anchors(void** s)
{
	card_refusal(s, user_files(), "", env("PKINIT_PIN"), SEC_E_ISSUING_CA_UNTRUSTED_KDC, false);
}
static void pkinit_plugin_disabled(void** s)
{
	setenv("KRB5_CONFIG", g_no_pkinit_conf.c_str(), 1);
	card_refusal(s, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"), SEC_E_UNSUPPORTED_PREAUTH, false);
}
// The KDC's clock is two hours ahead and this client does not adopt the KDC's time
// (kdc_timesync = 0; by default MIT takes the KDC's time from its first reply and PKINIT then
// succeeds): the KDC refuses the request's time.
static void kdc_clock_skew(void** s)
{
	if (access(kFaketime, R_OK) != 0) {
		print_message("skipped: %s is not installed (package faketime)\n", kFaketime);
		skip();
	}
	assert_true(restart_kdc("+2h"));
	setenv("KRB5_CONFIG", g_no_timesync_conf.c_str(), 1);
	card_refusal(s, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"), SEC_E_TIME_SKEW, true);
}
// A user the certificate does not name.
static void certificate_names_someone_else(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.client.user = env("PKINIT_OTHER_USER");
	expect_refusal(fx, SEC_E_PKINIT_NAME_MISMATCH, true);
}

// ---- failures that are not PKINIT's own: said as they are ----------------------------------------

// The failure's one line (`needle`, at ERROR or INFO) and no word of MIT's PKINIT plugin.
void expect_line(Fixture* fx, const char* needle)
{
	const int said = lines_with({"Kerberos ", needle});
	const int plugin = lines_with({"plugin"});
	if (said != 1 || plugin != 0)
		print_our_lines();
	EXPECT_TRUE(fx, said == 1);
	EXPECT_TRUE(fx, plugin == 0);
}

// A user the KDC does not know (the card is alice's): refused on the first AS-REQ.
static void unknown_user(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.client.user = "carol";
	expect_refusal(fx, SEC_E_LOGON_DENIED, true);
	expect_line(fx, "does not know carol@LAB.TEST");
	EXPECT_TRUE(fx, lines_with({"check the user name (/u: /d:)"}) == 1);
}
// The KDC is down: the realm's KDC cannot be reached, as for a password logon.
static void kdc_stopped(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	kdc_lab_stop_kdc(g_lab);
	g_kdc_stopped = true;
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	expect_refusal(fx, SEC_E_NO_AUTHENTICATING_AUTHORITY, true);
	expect_line(fx, "Cannot contact any KDC for realm 'LAB.TEST'");
}
// A disabled account (MIT: -allow_tix): KDC_ERR_CLIENT_REVOKED before any pre-authentication,
// SEC_E_LOGON_DENIED with ERROR_ACCOUNT_RESTRICTION as the last error (as Windows' SSPI returns
// it) and the account's line, as for a password logon.
static void disabled_account(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	assert_true(kdc_lab_kadmin(g_lab, "modprinc -allow_tix alice"));
	g_alice_disabled = true;
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	expect_refusal(fx, SEC_E_LOGON_DENIED, true);
	EXPECT_TRUE(fx, fx->result.failure_last_error == ERROR_ACCOUNT_RESTRICTION);
	expect_line(fx, "the KDC refused alice@LAB.TEST");
}

// ---- Negotiate and NTLM never see the PIN ---------------------------------------------------------

static void negotiate_without_kerberos(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.client.package_list = "!kerberos";
	expect_refusal(fx, SEC_E_NO_CREDENTIALS, false);
}
static void ntlm_refuses_smartcard(void** s)
{
	auto* fx = static_cast<Fixture*>(*s);
	configure_card(fx, M, W, user_files(), env("PKINIT_ANCHORS"), env("PKINIT_PIN"));
	fx->config.package = "NTLM";
	expect_refusal(fx, SEC_E_NO_CREDENTIALS, false);
}

// ---- marshalled certificate user names (FreeRDP on Windows) ----------------------------------------

static void marshalled_file(void** s) { marshalled_login(s, user_files(), env("PKINIT_USER_DER"), SEC_E_OK); }
static void marshalled_token(void** s)
{
	marshalled_login(s, "PKCS11:module_name=" + env("PKINIT_P11_MODULE"), env("PKINIT_USER_DER"), SEC_E_OK);
}
// The hash of a certificate the file does not hold.
static void marshalled_other_certificate(void** s)
{
	const std::string rogue_der = g_lab.dir + "/rogue.der";
	const std::string cmd = "openssl x509 -in '" + env("PKINIT_ROGUE_CERT") + "' -outform DER -out '" + rogue_der + "'";
	assert_int_equal(std::system(cmd.c_str()), 0);
	marshalled_login(s, user_files(), rogue_der, static_cast<SECURITY_STATUS>(0x8010002C));
}
static void marshalled_truncated(void** s) { marshalled_refusal(s, "@@BQ9eNR0KWVU-CT8sPCp8z"); }
static void marshalled_garbage(void** s) { marshalled_refusal(s, "@@BQ9eNR0KWVU-CT8sPCp8z37P!ZHJ"); }
static void marshalled_stray_bits(void** s) { marshalled_refusal(s, "@@BQ9eNR0KWVU-CT8sPCp8z37POZH-"); }
static void marshalled_other_type(void** s) { marshalled_refusal(s, "@@CQ9eNR0KWVU-CT8sPCp8z37POZHJ"); }
static void marshalled_bare_marker(void** s) { marshalled_refusal(s, "@@"); }

// ---- WinPR's built-in client, side by side ---------------------------------------------------------

static void winpr_file_certificate(void** s) { winpr_side_by_side(s, user_files(), "WinPR client, FILE: certificate"); }
static void winpr_token_16bit_slot(void** s)
{
	winpr_side_by_side(s, pkcs11_identity(freerdp_slot(env("PKINIT_SLOT"))), "WinPR client, token, 16-bit slotid");
}
static void winpr_token_exact_slot(void** s)
{
	winpr_side_by_side(s, pkcs11_identity(env("PKINIT_SLOT")), "WinPR client, token, exact slotid");
}

int main()
{
#define T(name) cmocka_unit_test_setup_teardown(name, pk_setup, pk_teardown)
	const struct CMUnitTest tests[] = {
	    T(file_certificate_and_key),
	    T(file_certificate_to_module_server),
	    T(file_encrypted_key_opens_with_pin),
	    T(token_by_exact_slot),
	    T(token_by_freerdp_16bit_slot),
	    T(token_without_slot),
	    T(token_to_module_server),
	    T(principal_from_certificate),
	    T(token_logons_at_once),
	    T(token_wrong_pin),
	    T(token_no_pin),
	    T(token_pin_locked),
	    T(file_encrypted_key_wrong_pin),
	    T(file_missing_certificate),
	    T(file_missing_key),
	    T(file_key_of_another_certificate),
	    T(token_without_certificate),
	    T(token_module_missing),
	    T(token_module_not_pkcs11),
	    T(token_label_unknown),
	    T(garbage_identity_strings),
	    T(kdc_refuses_card_ca),
	    T(kdc_certificate_untrusted),
	    T(anchors_without_card_ca),
	    T(no_anchors),
	    T(pkinit_plugin_disabled),
	    T(kdc_clock_skew),
	    T(certificate_names_someone_else),
	    T(unknown_user),
	    T(kdc_stopped),
	    T(disabled_account),
	    T(negotiate_without_kerberos),
	    T(ntlm_refuses_smartcard),
	    T(marshalled_file),
	    T(marshalled_token),
	    T(marshalled_other_certificate),
	    T(marshalled_truncated),
	    T(marshalled_garbage),
	    T(marshalled_stray_bits),
	    T(marshalled_other_type),
	    T(marshalled_bare_marker),
	    T(winpr_file_certificate),
	    T(winpr_token_16bit_slot),
	    T(winpr_token_exact_slot),
	};
#undef T
	char tmpl[] = "/tmp/nlassp-pkinit-log.XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_log_dir = tmpl;
	g_log = g_log_dir + "/wlog.txt";
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_log_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	// NLASSP_TEST_WLOG_LEVEL=TRACE (for the check that no secret is logged) keeps the log too.
	const char* level = std::getenv("NLASSP_TEST_WLOG_LEVEL");
	setenv("WLOG_LEVEL", level && *level ? level : "INFO", 1);
	const int rc = cmocka_run_group_tests_name("pkinit_interop", tests, group_setup, group_teardown);
	std::error_code ec;
	if (level && *level)
		std::fprintf(stderr, "log kept in %s\n", g_log_dir.c_str());
	else
		std::filesystem::remove_all(g_log_dir, ec);
	return rc;
}
