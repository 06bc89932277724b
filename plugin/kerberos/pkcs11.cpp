#include "kerberos/pkcs11.h"

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

namespace nlassp::kerberos::pkcs11 {

namespace {

std::mutex g_module_lock;   // C_Initialize/C_Finalize are process-wide

constexpr CK_ULONG kMaxObjects = 64;
constexpr CK_ULONG kMaxSlots = 1024;
constexpr CK_ULONG kMaxValue = 64 * 1024;
constexpr CK_ULONG kMaxIdOrLabel = 256;

// A label for matching and log lines: trailing blanks and NULs removed (PKCS#11 pads its fixed-size
// fields so; MIT compares token labels without them), control characters replaced by '?'.
// `exact` is false when a control character was replaced, or when anything was removed and
// `trailing_counts` (a CKA_LABEL, which has no padding).
std::string padded(const unsigned char* p, size_t n, bool& exact, bool trailing_counts = false)
{
	const size_t whole = n;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\0'))
		--n;
	exact = !(trailing_counts && n != whole);
	std::string s(reinterpret_cast<const char*>(p), n);
	for (char& c : s)
		if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
			c = '?';
			exact = false;
		}
	return s;
}

// The locks of ModuleUse, one per module; never removed (a process uses few modules).
std::mutex& module_use_lock(const std::string& path)
{
	static std::mutex registry;
	static std::map<std::string, std::unique_ptr<std::mutex>> locks;
	std::string key = path;
	if (char* real = realpath(path.c_str(), nullptr)) {
		key = real;
		std::free(real);
	}
	std::lock_guard<std::mutex> guard(registry);
	std::unique_ptr<std::mutex>& m = locks[key];
	if (!m)
		m = std::make_unique<std::mutex>();
	return *m;
}

} // namespace

ModuleUse::ModuleUse(const std::string& path) : lock_(module_use_lock(path)) {}

std::string rv_name(unsigned long rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
	case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
	case CKR_PIN_INVALID: return "CKR_PIN_INVALID";
	case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
	case CKR_SLOT_ID_INVALID: return "CKR_SLOT_ID_INVALID";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
	case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
	case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
	case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
	case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
	default: break;
	}
	char text[32];
	std::snprintf(text, sizeof(text), "CKR_0x%lx", rv);
	return text;
}

bool TokenInfo::login_required() const noexcept { return flags & CKF_LOGIN_REQUIRED; }
bool TokenInfo::protected_path() const noexcept { return flags & CKF_PROTECTED_AUTHENTICATION_PATH; }
bool TokenInfo::pin_locked() const noexcept { return flags & CKF_USER_PIN_LOCKED; }
bool TokenInfo::pin_final_try() const noexcept { return flags & CKF_USER_PIN_FINAL_TRY; }
bool TokenInfo::pin_count_low() const noexcept { return flags & CKF_USER_PIN_COUNT_LOW; }

struct Module::Impl {
	std::unique_lock<std::mutex> lock{g_module_lock};
	void* handle = nullptr;
	CK_FUNCTION_LIST_PTR f = nullptr;
	bool initialized = false;   // by us: ours to finalise

	~Impl()
	{
		if (initialized && f)
			(void)f->C_Finalize(nullptr);
		if (handle)
			(void)dlclose(handle);
	}

	// A read-only session on `slot`, closed when it goes.
	struct Session {
		CK_FUNCTION_LIST_PTR f = nullptr;
		CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
		~Session()
		{
			if (h != CK_INVALID_HANDLE)
				(void)f->C_CloseSession(h);
		}
	};
	bool open(uint64_t slot, Session& s, std::string& why)
	{
		s.f = f;
		const CK_RV rv = f->C_OpenSession(static_cast<CK_SLOT_ID>(slot), CKF_SERIAL_SESSION, nullptr, nullptr, &s.h);
		if (rv != CKR_OK) {
			s.h = CK_INVALID_HANDLE;
			why = "C_OpenSession on slot " + std::to_string(slot) + " failed: " + rv_name(rv);
			return false;
		}
		return true;
	}

	// One attribute of an object, bounded; false if the token does not have it.
	bool attribute(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG max, Bytes& out)
	{
		CK_ATTRIBUTE a{type, nullptr, 0};
		if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
		    a.ulValueLen > max)
			return false;
		Bytes v(a.ulValueLen);
		a.pValue = v.data();
		if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen > v.size())
			return false;
		v.resize(a.ulValueLen);
		out = std::move(v);
		return true;
	}
};

Module::Module() : impl_(std::make_unique<Impl>()) {}
Module::~Module() = default;

bool Module::load(const std::string& path, std::string& why)
{
	impl_->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (!impl_->handle) {
		const char* e = dlerror();
		why = "cannot load the PKCS#11 module " + path + ": " + (e ? e : "dlopen failed");
		return false;
	}
	auto get_list = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(impl_->handle, "C_GetFunctionList"));
	if (!get_list || get_list(&impl_->f) != CKR_OK || !impl_->f) {
		impl_->f = nullptr;
		why = path + " is not a PKCS#11 module (no usable C_GetFunctionList)";
		return false;
	}
	CK_C_INITIALIZE_ARGS args{};
	args.flags = CKF_OS_LOCKING_OK;
	const CK_RV rv = impl_->f->C_Initialize(&args);
	if (rv == CKR_OK)
		impl_->initialized = true;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		why = "C_Initialize of " + path + " failed: " + rv_name(rv);
		return false;
	}
	return true;
}

bool Module::token_info(uint64_t slot, TokenInfo& out, std::string& why)
{
	CK_TOKEN_INFO ti{};
	const CK_RV rv = impl_->f->C_GetTokenInfo(static_cast<CK_SLOT_ID>(slot), &ti);
	if (rv != CKR_OK) {
		why = "C_GetTokenInfo on slot " + std::to_string(slot) + " failed: " + rv_name(rv);
		return false;
	}
	out.slot = slot;
	out.label = padded(ti.label, sizeof(ti.label), out.label_exact);
	out.flags = ti.flags;
	return true;
}

bool Module::tokens(std::vector<TokenInfo>& out, std::string& why)
{
	out.clear();
	std::vector<CK_SLOT_ID> slots;
	CK_RV rv = CKR_OK;
	// Ask for the count, then the list; a token inserted in between makes the second call
	// CKR_BUFFER_TOO_SMALL (and leaves the array undefined): ask again.
	for (int attempt = 0; attempt < 4; ++attempt) {
		CK_ULONG count = 0;
		rv = impl_->f->C_GetSlotList(CK_TRUE, nullptr, &count);
		if (rv != CKR_OK) {
			why = "C_GetSlotList failed: " + rv_name(rv);
			return false;
		}
		if (count == 0)
			return true;
		if (count > kMaxSlots) {
			why = "the module reports " + std::to_string(count) + " slots with a token (at most " +
			      std::to_string(kMaxSlots) + " are looked at)";
			return false;
		}
		slots.assign(count, 0);
		rv = impl_->f->C_GetSlotList(CK_TRUE, slots.data(), &count);
		if (rv == CKR_OK) {
			slots.resize(std::min<CK_ULONG>(count, slots.size()));
			break;
		}
		if (rv != CKR_BUFFER_TOO_SMALL) {
			why = "C_GetSlotList failed: " + rv_name(rv);
			return false;
		}
	}
	if (rv != CKR_OK) {
		why = "the module's slot list kept changing while it was read (C_GetSlotList: " + rv_name(rv) + ")";
		return false;
	}
	for (CK_SLOT_ID s : slots) {
		TokenInfo t;
		std::string ignored;
		if (token_info(s, t, ignored))   // an unrecognised or half-present token is not a candidate
			out.push_back(std::move(t));
	}
	return true;
}

bool Module::certificates(uint64_t slot, std::vector<TokenCertificate>& out, std::string& why)
{
	out.clear();
	Impl::Session s;
	if (!impl_->open(slot, s, why))
		return false;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE type = CKC_X_509;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CERTIFICATE_TYPE, &type, sizeof(type)}};
	CK_RV rv = impl_->f->C_FindObjectsInit(s.h, tmpl, 2);
	if (rv != CKR_OK) {
		why = "C_FindObjectsInit on slot " + std::to_string(slot) + " failed: " + rv_name(rv);
		return false;
	}
	std::vector<CK_OBJECT_HANDLE> objects(kMaxObjects);
	CK_ULONG n = 0;
	rv = impl_->f->C_FindObjects(s.h, objects.data(), kMaxObjects, &n);
	(void)impl_->f->C_FindObjectsFinal(s.h);
	if (rv != CKR_OK) {
		why = "C_FindObjects on slot " + std::to_string(slot) + " failed: " + rv_name(rv);
		return false;
	}
	for (CK_ULONG i = 0; i < n && i < kMaxObjects; ++i) {
		TokenCertificate c;
		Bytes label;
		if (!impl_->attribute(s.h, objects[i], CKA_VALUE, kMaxValue, c.der) || c.der.empty())
			continue;
		(void)impl_->attribute(s.h, objects[i], CKA_ID, kMaxIdOrLabel, c.id);
		if (impl_->attribute(s.h, objects[i], CKA_LABEL, kMaxIdOrLabel, label))
			c.label = padded(label.data(), label.size(), c.label_exact, true);
		out.push_back(std::move(c));
	}
	return true;
}

LoginResult Module::login(uint64_t slot, ByteView pin, std::string& why)
{
	Impl::Session s;
	if (!impl_->open(slot, s, why))
		return LoginResult::Failed;
	const CK_RV rv = impl_->f->C_Login(s.h, CKU_USER, const_cast<CK_UTF8CHAR_PTR>(pin.data()),
	                                   static_cast<CK_ULONG>(pin.size()));
	why = rv_name(rv);
	switch (rv) {
	case CKR_OK:
		(void)impl_->f->C_Logout(s.h);
		return LoginResult::Ok;
	case CKR_USER_ALREADY_LOGGED_IN:
		return LoginResult::Ok;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_INVALID:
		return LoginResult::WrongPin;
	case CKR_PIN_LOCKED:
		return LoginResult::PinLocked;
	default:
		return LoginResult::Failed;
	}
}

} // namespace nlassp::kerberos::pkcs11
