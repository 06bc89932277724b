#include "interop/fixture.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace nlassp::interop {

int fixture_setup(void** state)
{
	auto* fx = new Fixture();
	char tmpl[] = "/tmp/nlassp-interop-XXXXXX";
	if (!mkdtemp(tmpl)) {
		delete fx;
		return -1;
	}
	fx->dir = tmpl;
	fx->sam = fx->dir + "/SAM";
	if (!write_sam_file(fx->sam, { { "alice", "LAB", "Passw0rd!" },
	                               { "bob", "LAB", "S3cret-bob" } })) {
		delete fx;
		return -1;
	}
	*state = fx;
	return 0;
}

int fixture_teardown(void** state)
{
	auto* fx = static_cast<Fixture*>(*state);
	if (fx) {
		unlink(fx->sam.c_str());
		unlink((fx->dir + "/SAM.utf8").c_str());
		unlink((fx->dir + "/krb5.conf").c_str());
		rmdir(fx->dir.c_str());
		delete fx;
	}
	*state = nullptr;
	return 0;
}

SecurityFunctionTableA* table_for(Impl impl)
{
	if (impl == Impl::WinPR) {
		SecurityFunctionTableA* t = winpr_table();
		assert_non_null(t);
		return t;
	}
	std::string why;
	SecurityFunctionTableA* t = module_table(&why);
	if (!t)
		print_error("cannot load our module: %s\n", why.c_str());
	assert_non_null(t);
	return t;
}

void configure(Fixture* fx, Impl client, Impl server, const char* package, bool with_bindings)
{
	Config& c = fx->config;
	c = Config{};
	c.client_table = table_for(client);
	c.server_table = table_for(server);
	c.package = package;
	c.client = ClientIdentity{};
	if (std::strcmp(package, "Negotiate") == 0)
		c.client.package_list = "!kerberos";
	c.server.sam_file = fx->sam;
	if (with_bindings) {
		c.client_bindings = default_channel_bindings();
		c.server_bindings = default_channel_bindings();
	}
}

void print_trace(const Result& r)
{
	const std::string text = r.describe();
	size_t start = 0;
	while (start < text.size()) {
		size_t end = text.find('\n', start);
		if (end == std::string::npos)
			end = text.size();
		print_message("%s\n", text.substr(start, end - start).c_str());
		start = end + 1;
	}
}

void run(Fixture* fx)
{
	run_login(fx->config, fx->result);
}

void expect_full_success(Fixture* fx, Impl server)
{
	const Result& r = fx->result;
	EXPECT_STATUS(fx, r.client_package_info, SEC_E_OK);
	EXPECT_STATUS(fx, r.server_package_info, SEC_E_OK);
	EXPECT_STATUS(fx, r.client_acquire, SEC_E_OK);
	EXPECT_STATUS(fx, r.server_acquire, SEC_E_OK);
	EXPECT_TRUE(fx, !r.failed);
	EXPECT_TRUE(fx, !r.hang);
	EXPECT_TRUE(fx, r.established);
	EXPECT_STATUS(fx, r.last_status(Side::Client), SEC_E_OK);
	EXPECT_STATUS(fx, r.last_status(Side::Server), SEC_E_OK);
	EXPECT_TRUE(fx, r.calls <= 6);
	EXPECT_STATUS(fx, r.client_sizes_status, SEC_E_OK);
	EXPECT_STATUS(fx, r.server_sizes_status, SEC_E_OK);
	EXPECT_TRUE(fx, r.client_sizes.cbSecurityTrailer > 0);
	EXPECT_TRUE(fx, r.server_sizes.cbSecurityTrailer > 0);
	// Every token fitted the preallocated cbMaxToken buffer.
	for (size_t i = 0; i < r.tokens.size(); i++)
		EXPECT_TRUE(fx, r.tokens[i].size() <= (r.token_from[i] == Side::Client
		                                           ? r.client_max_token
		                                           : r.server_max_token));
	// Messages: both directions, each decrypted to the original bytes and really sealed.
	EXPECT_TRUE(fx, r.messages.size() == static_cast<size_t>(2 * fx->config.messages));
	for (const MessageRecord& m : r.messages) {
		EXPECT_STATUS(fx, m.encrypt, SEC_E_OK);
		EXPECT_STATUS(fx, m.decrypt, SEC_E_OK);
		EXPECT_TRUE(fx, m.plaintext_equal);
		EXPECT_TRUE(fx, m.plain_size < 8 || m.ciphertext_differs);
	}
	EXPECT_TRUE(fx, r.messages_ok);
	if (!fx->config.query_server)
		return;
	// nla.c fails the login if either of these fails, whatever the server.
	EXPECT_STATUS(fx, r.impersonate_status, SEC_E_OK);
	EXPECT_STATUS(fx, r.revert_status, SEC_E_OK);
	if (server == Impl::Module) {
		EXPECT_STATUS(fx, r.names_status, SEC_E_OK);
		EXPECT_STATUS(fx, r.auth_identity_status, SEC_E_OK);
		EXPECT_STATUS(fx, r.package_info_status, SEC_E_OK);
		const std::string& n = r.names_user;
		EXPECT_TRUE(fx, n.size() >= 5 && n.compare(n.size() - 5, 5, "alice") == 0);
		EXPECT_TRUE(fx, r.auth_identity_user == "alice");
		EXPECT_TRUE(fx, r.auth_identity_domain == fx->expected_domain);
		EXPECT_TRUE(fx, !r.package_info_name.empty());
	}
}

} // namespace nlassp::interop
