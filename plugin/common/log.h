// Logging through WinPR's WLog under com.nlassp.<component>, so that WLOG_LEVEL and WLOG_FILTER
// work as FreeRDP users expect. Never pass secrets: SecretBytes has no formatter on purpose.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>

namespace nlassp::log {

enum class Level : uint32_t { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Fatal = 5 };

// A cached WLog logger for one tag such as "com.nlassp.ntlm".
class Logger {
public:
	explicit Logger(const char* tag) noexcept : tag_(tag) {}
	[[nodiscard]] bool enabled(Level level) const noexcept;
	void print(Level level, const char* file, int line, const char* func, const char* fmt, ...) const
	    __attribute__((format(printf, 6, 7)));
	[[nodiscard]] const char* tag() const noexcept { return tag_; }

private:
	void* handle() const noexcept;
	const char* tag_;
	mutable std::atomic<void*> log_{nullptr};
};

} // namespace nlassp::log

#define NLASSP_LOG(logger, level, ...)                                                     \
	do {                                                                                   \
		if ((logger).enabled(::nlassp::log::Level::level))                                \
			(logger).print(::nlassp::log::Level::level, __FILE__, __LINE__, __func__, __VA_ARGS__); \
	} while (0)
