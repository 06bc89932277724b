// Fuzzes the Kerberos acceptor's first step: arbitrary bytes as the client's first token to a
// context whose keytab holds a fixed AES key for TERMSRV/localhost@LAB.TEST. No KDC, no network:
// an acceptor never contacts one. Each input gets a fresh context (bounded work per input).
#include "kerberos/kerberos.h"

#include <krb5/krb5.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <unistd.h>

using namespace nlassp;

namespace {

std::string g_dir;
CredentialPtr g_cred;

void cleanup()
{
	g_cred.reset();
	if (!g_dir.empty()) {
		std::error_code ec;
		std::filesystem::remove_all(g_dir, ec);
	}
}

// Writes a keytab with the aes256-cts key of TERMSRV/localhost@LAB.TEST for the password
// "fuzz-Passw0rd" (default salt, kvno 1). The seeds in corpus/kerberos_acceptor/ are AP-REQs made
// by a lab KDC where that principal has that password, so fuzzing reaches ticket decryption.
bool write_keytab(const std::string& path)
{
	krb5_context k = nullptr;
	if (krb5_init_context(&k) != 0)
		return false;
	bool ok = false;
	krb5_keytab kt = nullptr;
	krb5_principal p = nullptr;
	krb5_data salt{};
	krb5_keyblock key{};
	const char* pw = "fuzz-Passw0rd";
	krb5_data pwd{KV5M_DATA, static_cast<unsigned int>(std::strlen(pw)), const_cast<char*>(pw)};
	if (krb5_kt_resolve(k, ("FILE:" + path).c_str(), &kt) == 0 &&
	    krb5_parse_name(k, "TERMSRV/localhost@LAB.TEST", &p) == 0 && krb5_principal2salt(k, p, &salt) == 0 &&
	    krb5_c_string_to_key(k, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &pwd, &salt, &key) == 0) {
		krb5_keytab_entry e{};
		e.principal = p;
		e.vno = 1;
		e.key = key;
		ok = krb5_kt_add_entry(k, kt, &e) == 0;
	}
	krb5_free_keyblock_contents(k, &key);
	krb5_free_data_contents(k, &salt);
	if (p)
		krb5_free_principal(k, p);
	if (kt)
		(void)krb5_kt_close(k, kt);
	krb5_free_context(k);
	return ok;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
	char tmpl[] = "/tmp/nlassp-fuzz-krb.XXXXXX";
	if (!mkdtemp(tmpl))
		std::abort();
	g_dir = tmpl;
	std::atexit(cleanup);
	// No host configuration: the acceptor needs none, and fuzzing must not depend on it.
	setenv("KRB5_CONFIG", "/dev/null", 1);
	setenv("KRB5_KTNAME", ("FILE:" + g_dir + "/none.keytab").c_str(), 1);
	setenv("KRB5RCACHENAME", "none:", 1);   // no replay-cache file per input
	setenv("WLOG_LEVEL", "OFF", 1);
	const std::string keytab = g_dir + "/termsrv.keytab";
	if (!write_keytab(keytab))
		std::abort();
	auto c = std::make_shared<Credential>();
	c->package = PackageId::Kerberos;
	c->use = CredentialUse::Inbound;
	c->kerberos.keytab = keytab;
	g_cred = c;
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	Error err = Error::None;
	ContextPtr acc = kerberos::create_context(Role::Acceptor, g_cred, err);
	if (!acc)
		std::abort();   // the keytab is there: creating an acceptor must work
	StepInput in;
	in.token = ByteView(data, size);
	StepOutput out;
	err = acc->step(in, out);
	// A failed step sends nothing; an established acceptor answers (mutual auth) or not, but is
	// established exactly when the step says so.
	if (err != Error::None && (!out.token.empty() || out.complete))
		std::abort();
	if (err == Error::None && out.complete != acc->established())
		std::abort();
	return 0;
}
