// The NTLM acceptor's view of who logged on (issue 14, findings 1, 2 and 6), attacked in process
// with a real WinPR-format SAM file:
// - the name the server is told is the SAM line's own spelling (user and domain), never the
//   client's: "ALICE"/"lab" and the dotless "alıce" report LAB\alice; a domainless line reports
//   an empty domain, whatever domain the client claimed;
// - a user or domain name with a NUL, a backslash or an unpaired surrogate is refused with
//   InvalidToken (SEC_E_INVALID_TOKEN): "LAB\alice\0" as bob's domain, "alice\0x", "x\alice";
// - a SAM line with an all-zero NT hash or the hash of an empty password does not log on (a
//   client that knows no password can compute both responses), with one WARN line naming the
//   SAM file's line and user and never the hash; NLASSP_NTLM_ALLOW_BLANK_PASSWORDS=1 allows the
//   blank password, never the zero hash.
//
// Attacks are made with a client written on the message and crypto layers (any name, any key);
// ordinary spellings also with our own initiator. The log is WLog's FILE appender, set up in
// main() before anything logs. Checks run in helpers (destructors run); CMocka bodies assert.
#include "ntlm/context.h"
#include "ntlm/crypto.h"
#include "ntlm/messages.h"
#include "ntlm/ntlm.h"
#include "wire/utf16.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;
using namespace nlassp::ntlm;

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)

namespace {

std::string g_dir;   // temp dir: SAM files, the WLog file
std::string g_log;

std::string read_text(const std::string& path)
{
	std::ifstream f(path, std::ios::binary);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// WARN-or-worse lines under com.nlassp.* logged since `mark` (bytes into the log file).
std::vector<std::string> warnings_since(size_t mark)
{
	const std::string text = read_text(g_log);
	std::istringstream in(text.size() > mark ? text.substr(mark) : std::string());
	std::vector<std::string> out;
	std::string line;
	while (std::getline(in, line))
		if ((line.find("[WARN][com.nlassp.") != std::string::npos ||
		     line.find("[ERROR][com.nlassp.") != std::string::npos))
			out.push_back(line);
	return out;
}

std::string hex_nt_hash(std::u16string_view password)
{
	SecretBytes h;
	if (ntowf_v1(wire::utf16le_bytes(password), h) != Error::None)
		return {};
	return to_hex(h.view());
}

const std::string kZeroHash(32, '0');

// A SAM file in g_dir, removed when done.
struct Sam {
	std::string path;
	explicit Sam(const std::string& content)
	{
		static int n = 0;
		path = g_dir + "/SAM." + std::to_string(++n);
		std::ofstream(path, std::ios::binary) << content;
	}
	~Sam() { unlink(path.c_str()); }
};

// What the acceptor ended with.
struct Outcome {
	Error error = Error::Internal;
	ContextNames names;
	Error names_error = Error::Internal;
};

ContextPtr make_acceptor(const std::string& sam)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Inbound;
	c->ntlm_users = make_sam_file_store(sam);
	Error e = Error::Internal;
	return create_context(Role::Acceptor, c, e);
}

void finish(SecurityContext& server, Error e, Outcome& out)
{
	out.error = e;
	out.names_error = server.names(out.names);
}

// A client on the message and crypto layers: AUTHENTICATE for `user`/`domain` (UTF-16 code units
// sent as they are, NULs and lone surrogates included) with the NTLMv2 response computed from
// `nt_hash`, no MIC.
bool crafted_logon(const std::string& sam, std::u16string_view user, std::u16string_view domain, ByteView nt_hash,
                   Outcome& out)
{
	ContextPtr server = make_acceptor(sam);
	CHECK(server);
	NegotiateMessage nm;
	nm.flags = initiator_negotiate_flags(true);
	nm.version = Version{};
	const Bytes neg = nm.encode();
	StepInput s1;
	s1.token = neg;
	StepOutput o1;
	CHECK(server->step(s1, o1) == Error::None);
	ChallengeMessage cm;
	CHECK(cm.decode(o1.token));

	SecretBytes key;
	CHECK(ntowf_v2_from_hash(nt_hash, user, domain, key) == Error::None);
	const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const Bytes temp = ntlmv2_temp(filetime_now(), cc, cm.target_info.encode());
	std::array<uint8_t, 16> proof{};
	SecretBytes base;
	CHECK(nt_proof_str(key.view(), cm.server_challenge, temp, proof) == Error::None);
	CHECK(session_base_key_v2(key.view(), proof, base) == Error::None);
	AuthenticateMessage am;
	am.flags = cm.flags;
	am.version = Version{};
	am.user = wire::utf16le_bytes(user);
	am.domain = wire::utf16le_bytes(domain);
	am.workstation = wire::utf16le_bytes(u"WS1");
	am.nt_response = nt_challenge_response(proof, temp);
	SecretBytes esk;
	CHECK(rc4k(base.view(), Bytes(16, 0x77), esk) == Error::None);
	am.encrypted_random_session_key.assign(esk.view().begin(), esk.view().end());
	const Bytes auth = am.encode();
	StepInput s2;
	s2.token = auth;
	StepOutput o2;
	finish(*server, server->step(s2, o2), out);
	return true;
}

bool crafted_logon_with_password(const std::string& sam, std::u16string_view user, std::u16string_view domain,
                                 std::u16string_view password, Outcome& out)
{
	SecretBytes h;
	CHECK(ntowf_v1(wire::utf16le_bytes(password), h) == Error::None);
	return crafted_logon(sam, user, domain, h.view(), out);
}

// Our own initiator (MIC, key exchange, everything a real client does).
bool initiator_logon(const std::string& sam, std::u16string user, std::u16string domain, std::u16string password,
                     Outcome& out)
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = std::move(user);
	id.domain = std::move(domain);
	id.password.assign(wire::utf16le_bytes(password));
	id.has_password = true;
	c->identity = std::move(id);
	c->workstation = u"WS1";
	Error e = Error::Internal;
	ContextPtr client = create_context(Role::Initiator, c, e);
	ContextPtr server = make_acceptor(sam);
	CHECK(client && server);
	StepInput ci;
	ci.requested = ctx::Confidentiality;
	ci.target = u"TERMSRV/server.lab";
	StepOutput co, so, co2, so2;
	CHECK(client->step(ci, co) == Error::None);
	StepInput si;
	si.token = co.token;
	CHECK(server->step(si, so) == Error::None);
	StepInput ci2;
	ci2.token = so.token;
	CHECK(client->step(ci2, co2) == Error::None);
	StepInput si2;
	si2.token = co2.token;
	finish(*server, server->step(si2, so2), out);
	return true;
}

bool refused_as(const Outcome& o, Error want)
{
	if (o.error != want)
		std::fprintf(stderr, "got %s, want %s\n", error_name(o.error), error_name(want));
	CHECK(o.error == want);
	CHECK(o.names_error == Error::NotEstablished);
	return true;
}

bool logged_on_as(const Outcome& o, std::u16string_view user, std::u16string_view domain)
{
	std::string u8, d8;
	(void)wire::utf16_to_utf8(o.names.user, u8);
	(void)wire::utf16_to_utf8(o.names.domain, d8);
	if (o.error != Error::None || o.names.user != user || o.names.domain != domain)
		std::fprintf(stderr, "got %s, names '%s' '%s' (domain %zu units)\n", error_name(o.error), d8.c_str(),
		             u8.c_str(), o.names.domain.size());
	CHECK(o.error == Error::None);
	CHECK(o.names_error == Error::None);
	CHECK(o.names.user == user);
	CHECK(o.names.domain == domain);
	return true;
}

std::string sam_lines()
{
	return "alice:LAB::" + hex_nt_hash(u"Passw0rd!") + ":::\n" + "bob:::" + hex_nt_hash(u"bobpw") + ":::\n";
}

// ---- finding 1: the reported name ----------------------------------------------------------------

bool domainless_user_claims_another_account()
{
	Sam sam(sam_lines());
	Outcome o;
	const std::u16string domain = std::u16string(u"LAB\\alice") + u'\0';
	const size_t mark = read_text(g_log).size();
	CHECK(crafted_logon_with_password(sam.path, u"bob", domain, u"bobpw", o));
	CHECK(refused_as(o, Error::InvalidToken));
	// One line, with the name made printable (the NUL shown as '?').
	const std::vector<std::string> w = warnings_since(mark);
	for (const std::string& l : w)
		std::fprintf(stderr, "log: %s\n", l.c_str());
	CHECK(w.size() == 1 && w[0].find("LAB\\alice?\\bob") != std::string::npos);
	// A backslash alone, and a NUL alone, are refused the same way.
	CHECK(crafted_logon_with_password(sam.path, u"bob", u"LAB\\alice", u"bobpw", o));
	CHECK(refused_as(o, Error::InvalidToken));
	CHECK(crafted_logon_with_password(sam.path, u"bob", std::u16string(u"LAB") + u'\0' + u"x", u"bobpw", o));
	CHECK(refused_as(o, Error::InvalidToken));
	return true;
}

bool domainless_line_reports_empty_domain()
{
	Sam sam(sam_lines());
	Outcome o;
	CHECK(crafted_logon_with_password(sam.path, u"bob", u"OTHER", u"bobpw", o));
	CHECK(logged_on_as(o, u"bob", u""));
	CHECK(initiator_logon(sam.path, u"BOB", u"LAB", u"bobpw", o));
	CHECK(logged_on_as(o, u"bob", u""));
	CHECK(initiator_logon(sam.path, u"bob", u"", u"bobpw", o));
	CHECK(logged_on_as(o, u"bob", u""));
	return true;
}

bool client_spelling_is_not_reported()
{
	Sam sam(sam_lines());
	Outcome o;
	CHECK(initiator_logon(sam.path, u"ALICE", u"lab", u"Passw0rd!", o));
	CHECK(logged_on_as(o, u"alice", u"LAB"));
	// U+0131 LATIN SMALL LETTER DOTLESS I upper-cases to I: the same account, its own name.
	CHECK(initiator_logon(sam.path, u"al\u0131ce", u"LAB", u"Passw0rd!", o));
	CHECK(logged_on_as(o, u"alice", u"LAB"));
	CHECK(crafted_logon_with_password(sam.path, u"Alice", u"Lab", u"Passw0rd!", o));
	CHECK(logged_on_as(o, u"alice", u"LAB"));
	// The line's own spelling, whatever it is.
	Sam mixed("Carol.Smith:Lab.Example::" + hex_nt_hash(u"c") + ":::\n");
	CHECK(initiator_logon(mixed.path, u"carol.smith", u"LAB.EXAMPLE", u"c", o));
	CHECK(logged_on_as(o, u"Carol.Smith", u"Lab.Example"));
	return true;
}

// ---- finding 6: NULs, backslashes and lone surrogates in names ------------------------------------

bool bad_characters_in_names()
{
	Sam sam(sam_lines());
	Outcome o;
	const std::u16string nul_user = std::u16string(u"alice") + u'\0' + u"x";
	CHECK(crafted_logon_with_password(sam.path, nul_user, u"LAB", u"Passw0rd!", o));
	CHECK(refused_as(o, Error::InvalidToken));
	CHECK(crafted_logon_with_password(sam.path, std::u16string(u"alice") + u'\0', u"LAB", u"Passw0rd!", o));
	CHECK(refused_as(o, Error::InvalidToken));
	CHECK(crafted_logon_with_password(sam.path, u"x\\alice", u"LAB", u"Passw0rd!", o));
	CHECK(refused_as(o, Error::InvalidToken));
	const std::u16string high(1, char16_t(0xd800)), low(1, char16_t(0xdc00));
	CHECK(crafted_logon_with_password(sam.path, u"alice" + high, u"LAB", u"Passw0rd!", o));
	CHECK(refused_as(o, Error::InvalidToken));
	CHECK(crafted_logon_with_password(sam.path, u"alice", low + u"LAB", u"Passw0rd!", o));
	CHECK(refused_as(o, Error::InvalidToken));
	CHECK(crafted_logon_with_password(sam.path, u"bob", high, u"bobpw", o));
	CHECK(refused_as(o, Error::InvalidToken));
	// A well-formed pair is a character like any other: no such user.
	CHECK(crafted_logon_with_password(sam.path, u"alice\U0001F600", u"LAB", u"Passw0rd!", o));
	CHECK(refused_as(o, Error::LogonDenied));
	return true;
}

// ---- finding 2: weak SAM lines ----------------------------------------------------------------------

bool zero_hash_line()
{
	Sam sam("# users\nmallory:LAB::" + kZeroHash + ":::\n");
	const Bytes zero(16, 0);
	const size_t mark = read_text(g_log).size();
	Outcome o;
	CHECK(crafted_logon(sam.path, u"mallory", u"LAB", zero, o));
	CHECK(refused_as(o, Error::LogonDenied));
	// One line, naming the file's line and the user, never the hash.
	const std::vector<std::string> w = warnings_since(mark);
	for (const std::string& l : w)
		std::fprintf(stderr, "log: %s\n", l.c_str());
	CHECK(w.size() == 1);
	CHECK(w[0].find("line 2") != std::string::npos && w[0].find("mallory") != std::string::npos);
	CHECK(w[0].find(kZeroHash) == std::string::npos);
	// The setting for blank passwords does not let a zero hash in.
	CHECK(setenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS", "1", 1) == 0);
	CHECK(crafted_logon(sam.path, u"mallory", u"LAB", zero, o));
	CHECK(unsetenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS") == 0);
	CHECK(refused_as(o, Error::LogonDenied));
	return true;
}

bool blank_password_line()
{
	const std::string blank = hex_nt_hash(u"");
	CHECK(blank == "31d6cfe0d16ae931b73c59d7e0c089c0");
	Sam sam(sam_lines() + "guest:LAB::" + blank + ":::\n");
	const size_t mark = read_text(g_log).size();
	Outcome o;
	// (Our own initiator sends no empty password without the setting: a crafted AUTHENTICATE.)
	CHECK(crafted_logon_with_password(sam.path, u"guest", u"LAB", u"", o));
	CHECK(refused_as(o, Error::LogonDenied));
	const std::vector<std::string> w = warnings_since(mark);
	for (const std::string& l : w)
		std::fprintf(stderr, "log: %s\n", l.c_str());
	CHECK(w.size() == 1);
	CHECK(w[0].find("line 3") != std::string::npos && w[0].find("guest") != std::string::npos);
	CHECK(w[0].find("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS") != std::string::npos);
	CHECK(w[0].find(blank) == std::string::npos);
	// "0" is not a yes.
	CHECK(setenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS", "0", 1) == 0);
	CHECK(crafted_logon_with_password(sam.path, u"guest", u"LAB", u"", o));
	CHECK(refused_as(o, Error::LogonDenied));
	// Allowed when the administrator says so.
	CHECK(setenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS", "1", 1) == 0);
	CHECK(initiator_logon(sam.path, u"guest", u"LAB", u"", o));
	CHECK(unsetenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS") == 0);
	CHECK(logged_on_as(o, u"guest", u"LAB"));
	// Other users are not affected either way.
	CHECK(initiator_logon(sam.path, u"alice", u"LAB", u"Passw0rd!", o));
	CHECK(logged_on_as(o, u"alice", u"LAB"));
	return true;
}

// An empty password is no password for our initiator (as for Kerberos): a user name with "" (what
// FreeRDP makes of /p:) must not become a failed logon that counts toward the account's lockout.
bool empty_password_is_no_password()
{
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Ntlm;
	c->use = CredentialUse::Outbound;
	Identity id;
	id.user = u"alice";
	id.domain = u"LAB";
	id.has_password = true;   // given, and empty
	c->identity = std::move(id);
	const size_t mark = read_text(g_log).size();
	Error e = Error::Internal;
	CHECK(!create_context(Role::Initiator, c, e));
	CHECK(e == Error::NoCredentials);
	const std::vector<std::string> w = warnings_since(mark);
	for (const std::string& l : w)
		std::fprintf(stderr, "log: %s\n", l.c_str());
	CHECK(w.size() == 1);
	CHECK(w[0].find("the password is empty") != std::string::npos && w[0].find("kinit") != std::string::npos);
	// The administrator's setting for accounts without a password lets it through.
	CHECK(setenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS", "1", 1) == 0);
	e = Error::Internal;
	const bool made = create_context(Role::Initiator, c, e) != nullptr;
	CHECK(unsetenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS") == 0);
	CHECK(made && e == Error::None);
	return true;
}

} // namespace

static void test_empty_password_is_no_password(void**) { assert_true(empty_password_is_no_password()); }
static void test_domainless_user_claiming_lab_alice_nul_is_invalid_token(void**)
{
	assert_true(domainless_user_claims_another_account());
}
static void test_domainless_sam_line_reports_empty_domain(void**) { assert_true(domainless_line_reports_empty_domain()); }
static void test_reported_name_is_the_sam_lines_spelling(void**) { assert_true(client_spelling_is_not_reported()); }
static void test_nul_backslash_lone_surrogate_in_names_are_invalid_token(void**) { assert_true(bad_characters_in_names()); }
static void test_zero_hash_sam_line_is_refused(void**) { assert_true(zero_hash_line()); }
static void test_blank_password_sam_line_refused_unless_allowed(void**) { assert_true(blank_password_line()); }

int main()
{
	char tmpl[] = "/tmp/nlassp-ntlm-identity-XXXXXX";
	if (!mkdtemp(tmpl))
		return 1;
	g_dir = tmpl;
	g_log = g_dir + "/wlog.txt";
	// Before anything logs: WLog reads these once.
	setenv("WLOG_APPENDER", "FILE", 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_PATH", g_dir.c_str(), 1);
	setenv("WLOG_FILEAPPENDER_OUTPUT_FILE_NAME", "wlog.txt", 1);
	setenv("WLOG_LEVEL", "INFO", 1);
	unsetenv("NLASSP_NTLM_ALLOW_BLANK_PASSWORDS");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domainless_user_claiming_lab_alice_nul_is_invalid_token),
		cmocka_unit_test(test_domainless_sam_line_reports_empty_domain),
		cmocka_unit_test(test_reported_name_is_the_sam_lines_spelling),
		cmocka_unit_test(test_nul_backslash_lone_surrogate_in_names_are_invalid_token),
		cmocka_unit_test(test_zero_hash_sam_line_is_refused),
		cmocka_unit_test(test_blank_password_sam_line_refused_unless_allowed),
		cmocka_unit_test(test_empty_password_is_no_password),
	};
	const int rc = cmocka_run_group_tests(tests, nullptr, nullptr);
	if (std::getenv("NLASSP_KEEP_LOG")) {
		std::fprintf(stderr, "log kept in %s\n", g_log.c_str());
	} else {
		unlink(g_log.c_str());
		rmdir(g_dir.c_str());
	}
	return rc;
}
