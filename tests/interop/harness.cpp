// The in-process CredSSP/NLA driver; see harness.h. The call sequence follows FreeRDP 3.10's
// credssp_auth.c (credssp_auth_init / _setup_client / _setup_server / _authenticate /
// _encrypt / _decrypt / _impersonate) and the flags of nla.c, written from its behaviour.
#include "interop/harness.h"
#include "interop/party.h"

#include <winpr/error.h>
#include <winpr/ntlm.h>
#include <winpr/secapi.h>
#include <winpr/ssl.h>

#include <dlfcn.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace nlassp::interop {

using detail::Party;
using detail::client_auth_data;
using detail::heap_copy;
using detail::server_auth_data;

namespace {

// nla.c: the client asks for mutual auth + confidentiality; the server for these six.
constexpr ULONG kClientFlags = ISC_REQ_MUTUAL_AUTH | ISC_REQ_CONFIDENTIALITY;
constexpr ULONG kServerFlags = ASC_REQ_MUTUAL_AUTH | ASC_REQ_CONFIDENTIALITY | ASC_REQ_CONNECTION |
                               ASC_REQ_USE_SESSION_KEY | ASC_REQ_SEQUENCE_DETECT |
                               ASC_REQ_EXTENDED_ERROR;

// credssp_auth_init + setup_client / setup_server. false if either call failed.
bool setup(Party& p, const Config& c, Result& r)
{
	const bool client = p.side == Side::Client;
	std::string pkg = c.package;
	const SECURITY_STATUS info_status = p.table->QuerySecurityPackageInfoA(pkg.data(), &p.info);
	(client ? r.client_package_info : r.server_package_info) = info_status;
	if (info_status != SEC_E_OK || !p.info)
		return false;
	(client ? r.client_package_name : r.server_package_name) = p.info->Name ? p.info->Name : "";
	(client ? r.client_max_token : r.server_max_token) = p.info->cbMaxToken;

	void* auth_data = client ? client_auth_data(p, c.client) : server_auth_data(p, c.server);
	const SECURITY_STATUS acquire = p.table->AcquireCredentialsHandleA(
	    nullptr, p.info->Name, client ? SECPKG_CRED_OUTBOUND : SECPKG_CRED_INBOUND, nullptr,
	    auth_data, nullptr, nullptr, &p.credentials, nullptr);
	(client ? r.client_acquire : r.server_acquire) = acquire;
	if (acquire != SEC_E_OK)
		return false;
	p.state = Party::State::Creds;
	p.flags = client ? kClientFlags : kServerFlags;
	p.spn = c.target;

	const std::optional<Bytes>& cb = client ? c.client_bindings : c.server_bindings;
	if (cb) {
		p.bindings = heap_copy(cb->data(), cb->size());
		p.bindings_length = static_cast<ULONG>(cb->size());
	}
	return true;
}

// credssp_auth_authenticate, one call.
SECURITY_STATUS authenticate(Party& p)
{
	SecBuffer in[2] = {};
	SecBufferDesc in_desc = { SECBUFFER_VERSION, 1, in };
	in[0] = p.input;
	if (p.bindings) {
		in_desc.cBuffers = 2;
		in[1].BufferType = SECBUFFER_CHANNEL_BINDINGS;
		in[1].cbBuffer = p.bindings_length;
		in[1].pvBuffer = p.bindings;
	}

	std::free(p.output.pvBuffer);
	p.output = {};
	p.output.BufferType = SECBUFFER_TOKEN;
	p.output.pvBuffer = std::calloc(1, p.info->cbMaxToken ? p.info->cbMaxToken : 1);
	if (!p.output.pvBuffer)
		return SEC_E_INSUFFICIENT_MEMORY;
	p.output.cbBuffer = p.info->cbMaxToken;
	SecBufferDesc out_desc = { SECBUFFER_VERSION, 1, &p.output };

	CtxtHandle* ctx = p.have_context() ? &p.context : nullptr;
	if (p.side == Side::Server)
		return p.table->AcceptSecurityContext(&p.credentials, ctx, &in_desc, p.flags,
		                                      SECURITY_NATIVE_DREP, &p.context, &out_desc,
		                                      &p.flags, nullptr);
	return p.table->InitializeSecurityContextA(&p.credentials, ctx, p.spn.data(), p.flags, 0,
	                                           SECURITY_NATIVE_DREP, &in_desc, 0, &p.context,
	                                           &out_desc, &p.flags, nullptr);
}

// credssp_auth_take_input_buffer
void deliver(Party& to, const Bytes& token)
{
	std::free(to.input.pvBuffer);
	to.input.pvBuffer = heap_copy(token.data(), token.size());
	to.input.cbBuffer = static_cast<ULONG>(token.size());
	to.input.BufferType = SECBUFFER_TOKEN;
}

Bytes test_message(size_t size, unsigned seed)
{
	Bytes m(size);
	uint32_t x = 0x9e3779b9u * (seed + 1);
	for (auto& b : m) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b = static_cast<uint8_t>(x);
	}
	return m;
}

// credssp_auth_encrypt on `from`, credssp_auth_decrypt on `to`.
MessageRecord seal_and_open(Party& from, Party& to, const Bytes& plain, int index,
                            const MessageTamper& tamper)
{
	MessageRecord rec{};
	rec.from = from.side;
	rec.plain_size = static_cast<uint32_t>(plain.size());
	rec.encrypt = SEC_E_INTERNAL_ERROR;
	rec.decrypt = SEC_E_INTERNAL_ERROR;

	const ULONG trailer = from.sizes.cbSecurityTrailer;
	auto* buf = static_cast<uint8_t*>(std::calloc(1, plain.size() + trailer + 1));
	if (!buf)
		return rec;
	SecBuffer b[2] = {};
	SecBufferDesc desc = { SECBUFFER_VERSION, 2, b };
	b[0].BufferType = SECBUFFER_TOKEN;
	b[0].cbBuffer = trailer;
	b[0].pvBuffer = buf;
	b[1].BufferType = SECBUFFER_DATA;
	b[1].cbBuffer = static_cast<ULONG>(plain.size());
	b[1].pvBuffer = buf + trailer;
	if (!plain.empty())
		std::memcpy(b[1].pvBuffer, plain.data(), plain.size());

	rec.encrypt = from.table->EncryptMessage(&from.context, 0, &desc, from.send_seq++);
	if (rec.encrypt != SEC_E_OK) {
		std::free(buf);
		return rec;
	}
	rec.signature_size = b[0].cbBuffer;
	if (b[0].cbBuffer > trailer || b[1].cbBuffer != plain.size()) {
		// Nothing FreeRDP could handle: a token larger than the trailer it allocated.
		rec.encrypt = SEC_E_INTERNAL_ERROR;
		std::free(buf);
		return rec;
	}
	if (b[0].cbBuffer < trailer) {
		std::memmove(buf + b[0].cbBuffer, b[1].pvBuffer, b[1].cbBuffer);
		from.sizes.cbSecurityTrailer = b[0].cbBuffer;
	}
	Bytes wire(buf, buf + b[0].cbBuffer + b[1].cbBuffer);
	std::free(buf);
	rec.ciphertext_differs =
	    plain.empty() ||
	    std::memcmp(wire.data() + rec.signature_size, plain.data(), plain.size()) != 0;

	if (tamper)
		tamper(from.side, index, wire);

	const ULONG rtrailer = to.sizes.cbSecurityTrailer;
	if (wire.size() < rtrailer) {
		// credssp_auth_decrypt refuses before calling the table ("buffer too small").
		rec.decrypt = SEC_E_INCOMPLETE_MESSAGE;
		to.recv_seq++;
		return rec;
	}
	void* whole = heap_copy(wire.data(), wire.size());
	SecBuffer d[2] = {};
	SecBufferDesc ddesc = { SECBUFFER_VERSION, 2, d };
	d[0].BufferType = SECBUFFER_TOKEN;
	d[0].pvBuffer = whole;
	d[0].cbBuffer = rtrailer;
	d[1].BufferType = SECBUFFER_DATA;
	d[1].cbBuffer = static_cast<ULONG>(wire.size() - rtrailer);
	d[1].pvBuffer = heap_copy(wire.data() + rtrailer, wire.size() - rtrailer);
	void* const data_alloc = d[1].pvBuffer;
	ULONG fqop = 0;
	rec.decrypt = to.table->DecryptMessage(&to.context, &ddesc, to.recv_seq++, &fqop);
	if (rec.decrypt == SEC_E_OK)
		rec.plaintext_equal =
		    d[1].cbBuffer == plain.size() &&
		    (plain.empty() || (d[1].pvBuffer && std::memcmp(d[1].pvBuffer, plain.data(),
		                                                    plain.size()) == 0));
	std::free(data_alloc);
	std::free(whole);
	return rec;
}

void query_server(Party& s, Result& r)
{
	SecPkgContext_Names names{};
	r.names_status = s.table->QueryContextAttributesA(&s.context, SECPKG_ATTR_NAMES, &names);
	if (r.names_status == SEC_E_OK && names.sUserName) {
		r.names_user = names.sUserName;
		s.table->FreeContextBuffer(names.sUserName);
	}

	SecPkgContext_AuthIdentity id{};
	r.auth_identity_status =
	    s.table->QueryContextAttributesA(&s.context, SECPKG_ATTR_AUTH_IDENTITY, &id);
	if (r.auth_identity_status == SEC_E_OK) {
		id.User[sizeof(id.User) - 1] = '\0';
		id.Domain[sizeof(id.Domain) - 1] = '\0';
		r.auth_identity_user = id.User;
		r.auth_identity_domain = id.Domain;
	}

	SecPkgContext_PackageInfo pi{};
	r.package_info_status =
	    s.table->QueryContextAttributesA(&s.context, SECPKG_ATTR_PACKAGE_INFO, &pi);
	if (r.package_info_status == SEC_E_OK && pi.PackageInfo) {
		if (pi.PackageInfo->Name)
			r.package_info_name = pi.PackageInfo->Name;
		s.table->FreeContextBuffer(pi.PackageInfo);
	}

	// nla.c: impersonate, then revert; either failing fails the login.
	r.impersonate_status = s.table->ImpersonateSecurityContext(&s.context);
	r.revert_status = s.table->RevertSecurityContext(&s.context);
}

void query_packages(Party& p, PackageQuery& q)
{
	SecPkgContext_PackageInfo pi{};
	q.package_info = p.table->QueryContextAttributesA(&p.context, SECPKG_ATTR_PACKAGE_INFO, &pi);
	if (q.package_info == SEC_E_OK && pi.PackageInfo) {
		if (pi.PackageInfo->Name)
			q.package_info_name = pi.PackageInfo->Name;
		p.table->FreeContextBuffer(pi.PackageInfo);
	}
	SecPkgContext_NegotiationInfo ni{};
	q.negotiation_info =
	    p.table->QueryContextAttributesA(&p.context, SECPKG_ATTR_NEGOTIATION_INFO, &ni);
	if (q.negotiation_info == SEC_E_OK) {
		q.negotiation_state = ni.NegotiationState;
		if (ni.PackageInfo) {
			if (ni.PackageInfo->Name)
				q.negotiation_name = ni.PackageInfo->Name;
			p.table->FreeContextBuffer(ni.PackageInfo);
		}
	}
}

} // namespace

void prepare_process()
{
	// Every FreeRDP process initialises WinPR's OpenSSL use first (freerdp_context_new ->
	// winpr_InitializeSSL), which loads OpenSSL 3's legacy provider: WinPR's NTLM needs MD4/RC4.
	static std::once_flag once;
	std::call_once(once, [] { (void)winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT); });
}

SecurityFunctionTableA* winpr_table()
{
	prepare_process();
	return InitSecurityInterfaceExA(0);
}

std::string module_path()
{
	if (const char* env = std::getenv("NLASSP_MODULE_PATH"); env && *env)
		return env;
#ifdef NLASSP_MODULE_PATH_DEFAULT
	return NLASSP_MODULE_PATH_DEFAULT;
#else
	return {};
#endif
}

SecurityFunctionTableA* module_table(std::string* why)
{
	static std::mutex mutex;
	static SecurityFunctionTableA* table = nullptr;
	static std::string error;
	static bool tried = false;

	prepare_process();
	std::lock_guard<std::mutex> lock(mutex);
	if (!tried) {
		tried = true;
		const std::string path = module_path();
		if (path.empty()) {
			error = "no module path (set NLASSP_MODULE_PATH)";
		} else if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL); !handle) {
			const char* e = dlerror();
			error = "dlopen(" + path + ") failed: " + (e ? e : "?");
		} else if (auto init = reinterpret_cast<INIT_SECURITY_INTERFACE_A>(
		               dlsym(handle, "InitSecurityInterfaceA"));
		           !init) {
			error = path + " has no InitSecurityInterfaceA";
		} else if (table = init(); !table) {
			error = path + ": InitSecurityInterfaceA returned NULL";
		}
	}
	if (why)
		*why = error;
	return table;
}

const char* identity_form_name(IdentityForm form)
{
	switch (form) {
		case IdentityForm::Winpr: return "SEC_WINNT_AUTH_IDENTITY_WINPR";
		case IdentityForm::WinntA: return "SEC_WINNT_AUTH_IDENTITY_A";
		case IdentityForm::WinntW: return "SEC_WINNT_AUTH_IDENTITY_W";
		case IdentityForm::ExA: return "SEC_WINNT_AUTH_IDENTITY_EXA";
		case IdentityForm::ExW: return "SEC_WINNT_AUTH_IDENTITY_EXW";
		case IdentityForm::None: return "NULL";
	}
	return "?";
}

const char* side_name(Side side)
{
	return side == Side::Client ? "client" : "server";
}

Bytes make_channel_bindings(const uint8_t (&cert_hash)[32])
{
	static const char prefix[] = "tls-server-end-point:";
	const size_t app_len = sizeof(prefix) - 1 + sizeof(cert_hash);
	Bytes out(sizeof(SEC_CHANNEL_BINDINGS) + app_len);
	SEC_CHANNEL_BINDINGS hdr{};
	hdr.cbApplicationDataLength = static_cast<UINT32>(app_len);
	hdr.dwApplicationDataOffset = sizeof(SEC_CHANNEL_BINDINGS);
	std::memcpy(out.data(), &hdr, sizeof(hdr));
	std::memcpy(out.data() + sizeof(hdr), prefix, sizeof(prefix) - 1);
	std::memcpy(out.data() + sizeof(hdr) + sizeof(prefix) - 1, cert_hash, sizeof(cert_hash));
	return out;
}

Bytes default_channel_bindings(bool other)
{
	uint8_t hash[32];
	for (size_t i = 0; i < sizeof(hash); i++)
		hash[i] = static_cast<uint8_t>((other ? 0xa0 : 0) + i);
	return make_channel_bindings(hash);
}

SECURITY_STATUS Result::last_status(Side side) const
{
	for (auto it = steps.rbegin(); it != steps.rend(); ++it)
		if (it->side == side)
			return it->status;
	return SEC_E_INTERNAL_ERROR;
}

SECURITY_STATUS Result::status_on_receipt(int index) const
{
	// Token i is received by the call right after the one that produced it: call i + 1.
	const size_t call = static_cast<size_t>(index) + 1;
	return call < steps.size() ? steps[call].status : SEC_E_INTERNAL_ERROR;
}

std::string status_string(SECURITY_STATUS status)
{
	char buf[96];
	std::snprintf(buf, sizeof(buf), "%s (0x%08" PRIX32 ")", GetSecurityStatusString(status),
	              static_cast<uint32_t>(status));
	return buf;
}

std::string Result::describe() const
{
	std::string s;
	char line[256];
	std::snprintf(line, sizeof(line),
	              "package info: client %s name=%s cbMaxToken=%lu, server %s name=%s cbMaxToken=%lu\n",
	              status_string(client_package_info).c_str(), client_package_name.c_str(),
	              static_cast<unsigned long>(client_max_token),
	              status_string(server_package_info).c_str(), server_package_name.c_str(),
	              static_cast<unsigned long>(server_max_token));
	s += line;
	s += "acquire: client " + status_string(client_acquire) + ", server " +
	     status_string(server_acquire) + "\n";
	for (size_t i = 0; i < steps.size(); i++) {
		const Step& st = steps[i];
		std::snprintf(line, sizeof(line), "  call %zu %s: %s in=%u out=%u attrs=0x%08lx\n", i,
		              st.side == Side::Client ? "ISC" : "ASC", status_string(st.status).c_str(),
		              st.in_size, st.out_size, static_cast<unsigned long>(st.attributes));
		s += line;
	}
	std::snprintf(line, sizeof(line), "established=%d failed=%d hang=%d %s\n", established,
	              failed, hang, protocol_error.c_str());
	s += line;
	if (established) {
		std::snprintf(line, sizeof(line),
		              "sizes: client %s trailer=%u, server %s trailer=%u\n",
		              status_string(client_sizes_status).c_str(),
		              client_sizes.cbSecurityTrailer,
		              status_string(server_sizes_status).c_str(),
		              server_sizes.cbSecurityTrailer);
		s += line;
	}
	for (const MessageRecord& m : messages) {
		std::snprintf(line, sizeof(line),
		              "  msg %s->: %u bytes sig=%u encrypt %s decrypt %s equal=%d sealed=%d\n",
		              side_name(m.from), m.plain_size, m.signature_size,
		              status_string(m.encrypt).c_str(), status_string(m.decrypt).c_str(),
		              m.plaintext_equal, m.ciphertext_differs);
		s += line;
	}
	if (established) {
		s += "server NAMES " + status_string(names_status) + " '" + names_user + "'\n";
		s += "server AUTH_IDENTITY " + status_string(auth_identity_status) + " '" +
		     auth_identity_domain + "\\" + auth_identity_user + "'\n";
		s += "server PACKAGE_INFO " + status_string(package_info_status) + " '" +
		     package_info_name + "'\n";
		s += "server Impersonate " + status_string(impersonate_status) + ", Revert " +
		     status_string(revert_status) + "\n";
		const PackageQuery* q[2] = { &client_query, &server_query };
		for (int k = 0; k < 2; k++)
			if (q[k]->package_info != SEC_E_INTERNAL_ERROR ||
			    q[k]->negotiation_info != SEC_E_INTERNAL_ERROR)
				s += std::string(k ? "server" : "client") + " PACKAGE_INFO " +
				     status_string(q[k]->package_info) + " '" + q[k]->package_info_name +
				     "', NEGOTIATION_INFO " + status_string(q[k]->negotiation_info) + " '" +
				     q[k]->negotiation_name + "' state " +
				     std::to_string(q[k]->negotiation_state) + "\n";
	}
	return s;
}

namespace {

// One call's outcome for its side: CONTINUE_NEEDED or OK (then the context's sizes) move the side
// on; anything else is the run's failure (false).
bool record_status(Party& cur, SECURITY_STATUS status, DWORD last_error, Result& r)
{
	if (status == SEC_I_CONTINUE_NEEDED) {
		cur.state = Party::State::InProgress;
		return true;
	}
	if (status != SEC_E_OK) {
		r.failed = true;
		r.failed_side = cur.side;
		r.failure_status = status;
		r.failure_last_error = last_error;
		r.failed_call = r.calls - 1;
		return false;
	}
	cur.state = Party::State::Final;
	const SECURITY_STATUS q = cur.table->QueryContextAttributesA(&cur.context, SECPKG_ATTR_SIZES, &cur.sizes);
	if (cur.side == Side::Client) {
		r.client_done = true;
		r.client_sizes_status = q;
		r.client_sizes = cur.sizes;
	} else {
		r.server_done = true;
		r.server_sizes_status = q;
		r.server_sizes = cur.sizes;
	}
	return true;
}

// Setup and the ISC/ASC loop; r.established says whether the parties can seal.
void establish(const Config& c, Result& r, Party& client, Party& server)
{
	r = Result{};
	if (!c.client_table || !c.server_table) {
		r.failed = true;
		r.protocol_error = "missing table";
		return;
	}
	client.side = Side::Client;
	client.table = c.client_table;
	server.side = Side::Server;
	server.table = c.server_table;

	if (!setup(client, c, r) || !setup(server, c, r)) {
		r.failed = true;
		r.protocol_error = "setup failed";
		return;
	}

	Party* cur = &client;
	Party* other = &server;
	int token_index = 0;
	for (;;) {
		if (r.calls >= c.max_calls) {
			r.hang = true;
			r.protocol_error = "no completion within " + std::to_string(c.max_calls) + " calls";
			break;
		}
		const uint32_t in_size = cur->input.cbBuffer;
		SetLastError(ERROR_SUCCESS);
		const SECURITY_STATUS status = authenticate(*cur);
		const DWORD last_error = GetLastError();
		r.calls++;
		r.steps.push_back({ cur->side, status, in_size,
		                    status == SEC_E_OK || status == SEC_I_CONTINUE_NEEDED
		                        ? static_cast<uint32_t>(cur->output.cbBuffer)
		                        : 0u,
		                    cur->flags });

		if (!record_status(*cur, status, last_error, r))
			break;

		const uint32_t out_size = cur->output.cbBuffer;
		if (out_size > cur->info->cbMaxToken) {
			r.failed = true;
			r.failed_side = cur->side;
			r.failure_status = status;
			r.failed_call = r.calls - 1;
			r.protocol_error = "output token larger than cbMaxToken";
			break;
		}
		if (out_size > 0) {
			if (other->state == Party::State::Final) {
				// FreeRDP 3.10 never calls a finished side again: this token would be dropped.
				r.protocol_error = std::string(side_name(cur->side)) +
				                   " sent a token after the " + side_name(other->side) +
				                   " finished";
				break;
			}
			const auto* p = static_cast<const uint8_t*>(cur->output.pvBuffer);
			Bytes token(p, p + out_size);
			if (c.tamper)
				c.tamper(TokenEvent{ cur->side, token_index }, token);
			r.tokens.push_back(token);
			r.token_from.push_back(cur->side);
			token_index++;
			deliver(*other, token);
			std::swap(cur, other);
			continue;
		}
		if (cur->state == Party::State::Final && other->state == Party::State::Final) {
			r.established = true;
			break;
		}
		r.hang = true;
		r.protocol_error = std::string(side_name(cur->side)) +
		                   (cur->state == Party::State::Final
		                        ? " finished without a token while the peer still waits"
		                        : " returned CONTINUE_NEEDED without a token");
		break;
	}
	r.client_attributes = client.flags;
	r.server_attributes = server.flags;
}

} // namespace

// FreeRDP's nla_get_KERB_TICKET_LOGON: the pointers start NULL and are free()d afterwards,
// whatever the status.
static void query_ticket_logon(Party& p, TicketLogonQuery& q)
{
	KERB_TICKET_LOGON t;
	std::memset(&t, 0, sizeof(t));
	q.status = p.table->QueryContextAttributesA(&p.context, SECPKG_CRED_ATTR_TICKET_LOGON, &t);
	if (q.status == SEC_E_OK) {
		q.message_type = static_cast<uint32_t>(t.MessageType);
		q.flags = t.Flags;
		if (t.ServiceTicket)
			q.service_ticket.assign(t.ServiceTicket, t.ServiceTicket + t.ServiceTicketLength);
		if (t.TicketGrantingTicket)
			q.ticket_granting_ticket.assign(t.TicketGrantingTicket,
			                                t.TicketGrantingTicket + t.TicketGrantingTicketLength);
	}
	free(t.ServiceTicket);
	free(t.TicketGrantingTicket);
}

void run_login(const Config& c, Result& r)
{
	Party client, server;
	establish(c, r, client, server);
	if (!r.established)
		return;

	bool ok = true;
	for (int i = 0; i < c.messages && ok; i++) {
		static const size_t sizes[] = { 270, 1, 1024, 32, 4096 };
		const size_t n = sizes[static_cast<size_t>(i) % (sizeof(sizes) / sizeof(sizes[0]))];
		for (int dir = 0; dir < 2 && ok; dir++) {
			Party& from = dir == 0 ? client : server;
			Party& to = dir == 0 ? server : client;
			const Bytes plain = test_message(n, static_cast<unsigned>(i * 2 + dir));
			MessageRecord m = seal_and_open(from, to, plain, i, c.tamper_message);
			ok = m.encrypt == SEC_E_OK && m.decrypt == SEC_E_OK && m.plaintext_equal;
			r.messages.push_back(m);
		}
	}
	r.messages_ok = ok;

	if (c.query_packages) {
		query_packages(client, r.client_query);
		query_packages(server, r.server_query);
	}
	if (c.query_server)
		query_server(server, r);
	if (c.query_ticket_logon) {
		query_ticket_logon(client, r.ticket_logon);
		TicketLogonQuery s;
		query_ticket_logon(server, s);
		r.server_ticket_logon_status = s.status;
	}
}

void measure_throughput(const Config& c, size_t message_size, int count, Throughput& out)
{
	out = Throughput{};
	out.message_size = message_size;
	Party client, server;
	establish(c, out.login, client, server);
	if (!out.login.established)
		return;
	const Bytes plain = test_message(message_size, 7);
	std::vector<uint8_t> buf;
	std::vector<uint8_t> data;
	for (int i = 0; i < count; i++) {
		Party& from = i % 2 ? server : client;
		Party& to = i % 2 ? client : server;
		const ULONG trailer = from.sizes.cbSecurityTrailer;
		buf.assign(trailer + message_size, 0);
		std::memcpy(buf.data() + trailer, plain.data(), message_size);
		SecBuffer b[2] = {};
		SecBufferDesc desc = { SECBUFFER_VERSION, 2, b };
		b[0] = { trailer, SECBUFFER_TOKEN, buf.data() };
		b[1] = { static_cast<ULONG>(message_size), SECBUFFER_DATA, buf.data() + trailer };
		const auto t0 = std::chrono::steady_clock::now();
		SECURITY_STATUS st = from.table->EncryptMessage(&from.context, 0, &desc, from.send_seq++);
		const auto t1 = std::chrono::steady_clock::now();
		out.encrypt_seconds += std::chrono::duration<double>(t1 - t0).count();
		if (st != SEC_E_OK || b[0].cbBuffer > trailer) {
			out.failure = st;
			return;
		}
		if (b[0].cbBuffer < trailer) {
			std::memmove(buf.data() + b[0].cbBuffer, b[1].pvBuffer, b[1].cbBuffer);
			from.sizes.cbSecurityTrailer = b[0].cbBuffer;
		}
		const ULONG sig = b[0].cbBuffer;
		const ULONG rtrailer = to.sizes.cbSecurityTrailer;
		data.assign(buf.begin() + rtrailer, buf.begin() + sig + static_cast<long>(message_size));
		SecBuffer d[2] = {};
		SecBufferDesc ddesc = { SECBUFFER_VERSION, 2, d };
		d[0] = { rtrailer, SECBUFFER_TOKEN, buf.data() };
		d[1] = { static_cast<ULONG>(data.size()), SECBUFFER_DATA, data.data() };
		ULONG fqop = 0;
		const auto t2 = std::chrono::steady_clock::now();
		st = to.table->DecryptMessage(&to.context, &ddesc, to.recv_seq++, &fqop);
		const auto t3 = std::chrono::steady_clock::now();
		out.decrypt_seconds += std::chrono::duration<double>(t3 - t2).count();
		if (st != SEC_E_OK || d[1].cbBuffer != message_size ||
		    std::memcmp(d[1].pvBuffer, plain.data(), message_size) != 0) {
			out.failure = st == SEC_E_OK ? SEC_E_MESSAGE_ALTERED : st;
			return;
		}
		out.messages++;
	}
	out.ok = true;
}

bool write_sam_file(const std::string& path, const std::vector<SamUser>& users)
{
	prepare_process();
	FILE* f = std::fopen(path.c_str(), "w");
	if (!f)
		return false;
	bool ok = true;
	for (const SamUser& u : users) {
		BYTE hash[16] = {};
		std::string pw = u.password;
		if (!NTOWFv1A(pw.data(), static_cast<UINT32>(pw.size()), hash)) {
			ok = false;
			break;
		}
		std::fprintf(f, "%s:%s::", u.user.c_str(), u.domain.c_str());
		for (BYTE b : hash)
			std::fprintf(f, "%02x", b);
		std::fprintf(f, ":::\n");
	}
	return std::fclose(f) == 0 && ok;
}

long find_ntlmssp(const Bytes& token)
{
	static const uint8_t sig[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };
	if (token.size() < sizeof(sig))
		return -1;
	for (size_t i = 0; i + sizeof(sig) <= token.size(); i++)
		if (std::memcmp(token.data() + i, sig, sizeof(sig)) == 0)
			return static_cast<long>(i);
	return -1;
}

} // namespace nlassp::interop
