// The real packages behind the module's tables. Kept apart from the boundary so that unit tests
// registering fake packages do not link the packages themselves.
#include "sspi/packages.h"

#include "common/log.h"
#include "credssp/credssp.h"
#include "negotiate/negotiate.h"
#include "ntlm/ntlm.h"
#if NLASSP_HAVE_KERBEROS
#include "kerberos/kerberos.h"
#endif

#include <mutex>

namespace nlassp::sspi {

// DER contents octets of the mechanism OIDs.
static const uint8_t kKerberosOid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}; // 1.2.840.113554.1.2.2
static const uint8_t kNtlmOid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}; // 1.3.6.1.4.1.311.2.2.10

// NTLM, except for a smartcard logon's credential: its password is the card's PIN, which must
// never be sent (or hashed) as a password. Whether Kerberos is built in or not.
static ContextPtr ntlm_context(Role role, const CredentialPtr& cred, Error& err)
{
	if (role == Role::Initiator && cred && smartcard_credential(*cred)) {
		static const log::Logger ntlm_logger("com.nlassp.ntlm");
		NLASSP_LOG(ntlm_logger, Error, "NTLM: refusing a smartcard logon's credentials (its password is the card's PIN); "
		           "use Negotiate or Kerberos");
		err = Error::NoCredentials;
		return nullptr;
	}
	return ntlm::create_context(role, cred, err);
}

static std::vector<negotiate::Mechanism> negotiate_mechanisms()
{
	std::vector<negotiate::Mechanism> mechs;
#if NLASSP_HAVE_KERBEROS
	mechs.push_back({PackageId::Kerberos, Bytes(std::begin(kKerberosOid), std::end(kKerberosOid)),
	                 &kerberos::create_context, &kerberos::smartcard_logon});
#else
	(void)kKerberosOid;
#endif
	mechs.push_back({PackageId::Ntlm, Bytes(std::begin(kNtlmOid), std::end(kNtlmOid)), &ntlm_context, {}});
	return mechs;
}

void register_builtin_packages()
{
	static std::once_flag once;
	std::call_once(once, [] {
		auto& r = registry();
		r.add(PackageId::Ntlm, &ntlm_context);
#if NLASSP_HAVE_KERBEROS
		r.add(PackageId::Kerberos, &kerberos::create_context);
#endif
		r.add(PackageId::Negotiate, [](Role role, const CredentialPtr& cred, Error& err) {
			return negotiate::create_context(role, cred, negotiate_mechanisms(), err);
		});
		// CREDSSP runs MS-CSSP over the same Negotiate (and mechanism list) as the Negotiate package.
		r.add(PackageId::CredSsp, [](Role role, const CredentialPtr& cred, Error& err) {
			return credssp::create_context(
			    role, cred,
			    [](Role r2, const CredentialPtr& c2, Error& e2) {
				    return negotiate::create_context(r2, c2, negotiate_mechanisms(), e2);
			    },
			    err);
		});
		r.set_sam_store_factory([](std::string path) { return ntlm::make_sam_file_store(std::move(path)); });
	});
}

} // namespace nlassp::sspi
