// Owning wrappers for MIT krb5 / GSSAPI handles (each frees exactly once, move-only), and the
// one place that turns a GSS major/minor pair or a krb5 error code into nlassp::Error.
#pragma once

#include "common/bytes.h"
#include "common/error.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>

#include <string>
#include <utility>

namespace nlassp::kerberos::gss {

// A handle freed by `Free`; move-only.
template <typename T, T Null, void (*Free)(T&) noexcept>
class Handle {
public:
	Handle() noexcept = default;
	explicit Handle(T h) noexcept : h_(h) {}
	Handle(const Handle&) = delete;
	Handle& operator=(const Handle&) = delete;
	Handle(Handle&& o) noexcept : h_(std::exchange(o.h_, Null)) {}
	Handle& operator=(Handle&& o) noexcept
	{
		if (this != &o) {
			reset();
			h_ = std::exchange(o.h_, Null);
		}
		return *this;
	}
	~Handle() { reset(); }

	void reset() noexcept
	{
		if (h_ != Null)
			Free(h_);
		h_ = Null;
	}
	[[nodiscard]] T get() const noexcept { return h_; }
	[[nodiscard]] T* out() noexcept
	{
		reset();
		return &h_;
	}
	// In/out parameter (gss_init_sec_context's context handle): no reset.
	[[nodiscard]] T* inout() noexcept { return &h_; }
	explicit operator bool() const noexcept { return h_ != Null; }

private:
	T h_ = Null;
};

void free_name(gss_name_t& h) noexcept;
void free_cred(gss_cred_id_t& h) noexcept;
void free_ctx(gss_ctx_id_t& h) noexcept;
void free_krb5(krb5_context& h) noexcept;

using Name = Handle<gss_name_t, GSS_C_NO_NAME, free_name>;
using Cred = Handle<gss_cred_id_t, GSS_C_NO_CREDENTIAL, free_cred>;
using Ctx = Handle<gss_ctx_id_t, GSS_C_NO_CONTEXT, free_ctx>;
using Krb5Context = Handle<krb5_context, nullptr, free_krb5>;

// A gss_buffer_desc that GSSAPI allocated (output tokens, display names, MICs).
class Buffer {
public:
	Buffer() noexcept = default;
	Buffer(const Buffer&) = delete;
	Buffer& operator=(const Buffer&) = delete;
	~Buffer();
	[[nodiscard]] gss_buffer_t out() noexcept;
	[[nodiscard]] ByteView view() const noexcept
	{
		return {static_cast<const uint8_t*>(b_.value), b_.length};
	}
	[[nodiscard]] std::string str() const { return {static_cast<const char*>(b_.value), b_.length}; }

private:
	gss_buffer_desc b_{0, nullptr};
};

class BufferSet {
public:
	BufferSet() noexcept = default;
	BufferSet(const BufferSet&) = delete;
	BufferSet& operator=(const BufferSet&) = delete;
	~BufferSet();
	[[nodiscard]] gss_buffer_set_t* out() noexcept { return &s_; }
	[[nodiscard]] gss_buffer_set_t get() const noexcept { return s_; }

private:
	gss_buffer_set_t s_ = GSS_C_NO_BUFFER_SET;
};

// A krb5 object owned together with the krb5_context that made it.
class Principal {
public:
	Principal() noexcept = default;
	Principal(const Principal&) = delete;
	Principal& operator=(const Principal&) = delete;
	~Principal() { reset(); }
	void reset() noexcept;
	[[nodiscard]] krb5_principal* out(krb5_context c) noexcept
	{
		reset();
		ctx_ = c;
		return &p_;
	}
	[[nodiscard]] krb5_principal get() const noexcept { return p_; }

private:
	krb5_context ctx_ = nullptr;
	krb5_principal p_ = nullptr;
};

class Ccache {
public:
	Ccache() noexcept = default;
	Ccache(const Ccache&) = delete;
	Ccache& operator=(const Ccache&) = delete;
	~Ccache() { close(); }
	void close() noexcept;
	// Destroys the cache itself (a private memory ccache), then forgets it.
	void destroy() noexcept;
	[[nodiscard]] krb5_ccache* out(krb5_context c) noexcept
	{
		close();
		ctx_ = c;
		return &cc_;
	}
	[[nodiscard]] krb5_ccache get() const noexcept { return cc_; }

private:
	krb5_context ctx_ = nullptr;
	krb5_ccache cc_ = nullptr;
};

// Destroys a (private MEMORY) ccache when the scope ends, whatever happens: a MEMORY cache lives in
// the process until destroyed.
struct DestroyCcache {
	Ccache& cc;
	~DestroyCcache() { cc.destroy(); }
};

// A libkrb5 object freed together with the krb5_context that made it (krb5_free_creds(k, p) and
// the like): constructed with the context, filled through out(); not copyable or movable.
template <typename T, void (*Free)(krb5_context, T) noexcept>
class Krb5Owned {
public:
	explicit Krb5Owned(krb5_context k) noexcept : k_(k) {}
	Krb5Owned(const Krb5Owned&) = delete;
	Krb5Owned& operator=(const Krb5Owned&) = delete;
	~Krb5Owned()
	{
		if (p_)
			Free(k_, p_);
	}
	[[nodiscard]] T* out() noexcept { return &p_; }
	[[nodiscard]] T get() const noexcept { return p_; }
	T operator->() const noexcept { return p_; }

private:
	krb5_context k_;
	T p_ = nullptr;
};

void free_creds(krb5_context k, krb5_creds* p) noexcept;
void free_init_creds_opt(krb5_context k, krb5_get_init_creds_opt* p) noexcept;
void free_init_creds(krb5_context k, krb5_init_creds_context p) noexcept;
void free_error(krb5_context k, krb5_error* p) noexcept;
void free_auth_context(krb5_context k, krb5_auth_context p) noexcept;

using Creds = Krb5Owned<krb5_creds*, free_creds>;
using InitCredsOpt = Krb5Owned<krb5_get_init_creds_opt*, free_init_creds_opt>;
using InitCreds = Krb5Owned<krb5_init_creds_context, free_init_creds>;
using KrbError = Krb5Owned<krb5_error*, free_error>;
using AuthContext = Krb5Owned<krb5_auth_context, free_auth_context>;

// A krb5_creds filled in place (krb5_cc_retrieve_cred): its contents freed if filled.
struct CredContents {
	explicit CredContents(krb5_context k) noexcept : k_(k) {}
	CredContents(const CredContents&) = delete;
	CredContents& operator=(const CredContents&) = delete;
	~CredContents();
	krb5_creds c{};
	bool filled = false;

private:
	krb5_context k_;
};

// A krb5_data that may hold key material in clear (an unsealed KRB-CRED): wiped, then freed.
struct SecretData {
	explicit SecretData(krb5_context k) noexcept : k_(k) {}
	SecretData(const SecretData&) = delete;
	SecretData& operator=(const SecretData&) = delete;
	~SecretData();
	krb5_data d{};

private:
	krb5_context k_;
};

// The mechanism set {krb5}.
gss_OID_set krb5_mech_set() noexcept;

// Wraps a byte view as an input gss_buffer_desc (no copy).
inline gss_buffer_desc input(ByteView v) noexcept
{
	return gss_buffer_desc{v.size(), const_cast<uint8_t*>(v.data())};
}

// "Cannot contact any KDC for realm 'LAB.TEST'", from gss_display_status (minor) and the
// major code's text.
std::string describe(OM_uint32 major, OM_uint32 minor);
std::string describe_krb5(krb5_context ctx, krb5_error_code code);

// krb5 error codes (as the krb5 mechanism reports them in minor status) to Error.
Error map_krb5(krb5_error_code code) noexcept;
// A GSS failure (GSS_ERROR(major)) to Error, looking at the minor code first.
Error map_gss(OM_uint32 major, OM_uint32 minor) noexcept;
// Supplementary bits of a successful per-message call: duplicate/old/unsequenced/gap tokens.
Error map_supplementary(OM_uint32 major) noexcept;

} // namespace nlassp::kerberos::gss
