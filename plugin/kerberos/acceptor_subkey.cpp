// An initiator with an RC4-HMAC context key takes the acceptor's RC4 subkey from its AP-REP
// (kerberos/ap_rep.h says why MIT does not). The AP-REP's enc-part is sealed with the service
// ticket's session key (key usage 12): the RC4 tickets in our credential cache are tried, and only
// the one that decrypts it (its checksum verifies) is used.
#include "kerberos/context_impl.h"

#include "kerberos/ap_rep.h"

#include <cstdlib>

namespace nlassp::kerberos::detail {

// With `key` the session key of one of our tickets: the acceptor's subkey if the enc-part
// decrypts with it (true), nothing if it does not (false).
static bool subkey_with(krb5_context k, const krb5_keyblock& key, const ap_rep::EncPart& ep, SecretBytes& subkey,
                        bool& present)
{
	krb5_enc_data enc{};
	enc.magic = KV5M_ENC_DATA;
	enc.enctype = ep.etype;
	enc.ciphertext.length = static_cast<unsigned int>(ep.cipher.size());
	enc.ciphertext.data = const_cast<char*>(reinterpret_cast<const char*>(ep.cipher.data()));
	gss::SecretData plain(k);   // holds the subkey: wiped before it is freed
	plain.d.magic = KV5M_DATA;
	plain.d.length = enc.ciphertext.length;
	plain.d.data = static_cast<char*>(std::calloc(1, enc.ciphertext.length ? enc.ciphertext.length : 1));
	if (!plain.d.data || krb5_c_decrypt(k, &key, KRB5_KEYUSAGE_AP_REP_ENCPART, nullptr, &enc, &plain.d) != 0)
		return false;
	ap_rep::Subkey s;
	if (!ap_rep::read_enc_part(ByteView(reinterpret_cast<const uint8_t*>(plain.d.data), plain.d.length), s))
		return false;
	present = s.present && s.keytype == ENCTYPE_ARCFOUR_HMAC;
	if (present)
		subkey = SecretBytes(s.value);
	return true;
}

void KerberosContext::adopt_acceptor_subkey(ByteView token)
{
	ap_rep::EncPart ep;
	if (!rc4_ || !ccache_.get() || !ap_rep::read_token(token, ep) || ep.etype != ENCTYPE_ARCFOUR_HMAC)
		return;
	krb5_context k = krb5_.get();
	krb5_cc_cursor cursor = nullptr;
	if (krb5_cc_start_seq_get(k, ccache_.get(), &cursor) != 0)
		return;
	SecretBytes subkey;
	bool present = false, found = false;
	for (;;) {
		gss::CredContents e(k);
		if (krb5_cc_next_cred(k, ccache_.get(), &cursor, &e.c) != 0)
			break;
		e.filled = true;
		if (e.c.keyblock.enctype == ENCTYPE_ARCFOUR_HMAC && subkey_with(k, e.c.keyblock, ep, subkey, present)) {
			found = true;
			break;
		}
	}
	(void)krb5_cc_end_seq_get(k, ccache_.get(), &cursor);
	if (found && present && rc4_->adopt_acceptor_subkey(subkey.view()))
		NLASSP_LOG(logger, Debug, "Kerberos: the acceptor's AP-REP carries its own RC4 subkey (WinPR's acceptor "
		                          "seals with it); messages are protected with that key");
}

} // namespace nlassp::kerberos::detail
