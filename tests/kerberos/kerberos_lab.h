// Shared by the Kerberos tests against a real MIT KDC (test_kerberos, test_kerberos_protect,
// test_kerberos_failures): the throwaway KDC (tests/lab/kdc.sh: realm LAB.TEST on 127.0.0.1), the
// credentials the tests log on with, and one login of our initiator to our acceptor.
//
// Everything with a destructor lives in the global fixture `g` (created and destroyed by the
// group setup/teardown) or inside helpers: a failing CMocka assertion longjmps past destructors.
#pragma once

#include "kerberos/context.h"
#include "kerberos/kerberos.h"

#include <sys/types.h>

#include <string>

namespace nlassp::test {

constexpr const char* kService = "TERMSRV/localhost@LAB.TEST";
const ContextFlags kRequested = ctx::MutualAuth | ctx::Confidentiality | ctx::Integrity | ctx::SequenceDetect |
                                ctx::ReplayDetect;

struct Lab {
	std::string dir;
	pid_t kdc = -1;
	bool running = false;
};

struct Pair {
	ContextPtr ini;
	ContextPtr acc;
	int tgs_during_accept = -1;
};

struct Fixture {
	Lab lab;
	Pair pair;
	Error last = Error::None;
	Bytes scratch;
};
extern Fixture* g;

std::string read_file(const std::string& path);
int run(const std::string& cmd);
void lab_stop_kdc(Lab& lab);
// TGS_REQ lines in the KDC log that issued a ticket for `service`.
int count_tgs(const std::string& service);
int count_kdc_requests();
bool kinit(const std::string& ccache, const char* user = "alice");

CredentialPtr password_cred(const char16_t* user, const char16_t* domain, const char* password);
CredentialPtr default_cred(const std::string& cache = "");
CredentialPtr acceptor_cred();

// Runs a full login; the result is the first error either side reports.
Error login(const CredentialPtr& ic, const char16_t* target = u"TERMSRV/localhost", ContextFlags req = kRequested,
            const ChannelBindings* ini_cb = nullptr, const ChannelBindings* acc_cb = nullptr);
bool names_are(const SecurityContext& c, const char16_t* user, const char16_t* domain);

// CMocka group fixture: starts the KDC and points the krb5 environment at it; stops and removes it.
int group_setup(void** state);
int group_teardown(void** state);

} // namespace nlassp::test
