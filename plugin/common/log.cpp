#include "common/log.h"

#include <winpr/wlog.h>

#include <cstdio>

namespace nlassp::log {

static DWORD to_wlog(Level level) noexcept
{
	switch (level) {
	case Level::Trace: return WLOG_TRACE;
	case Level::Debug: return WLOG_DEBUG;
	case Level::Info: return WLOG_INFO;
	case Level::Warn: return WLOG_WARN;
	case Level::Error: return WLOG_ERROR;
	case Level::Fatal: return WLOG_FATAL;
	}
	return WLOG_ERROR;
}

void* Logger::handle() const noexcept
{
	void* log = log_.load(std::memory_order_acquire);
	if (!log) {
		log = WLog_Get(tag_);
		log_.store(log, std::memory_order_release);
	}
	return log;
}

bool Logger::enabled(Level level) const noexcept
{
	auto* log = static_cast<wLog*>(handle());
	return log && WLog_IsLevelActive(log, to_wlog(level));
}

void Logger::print(Level level, const char* file, int line, const char* func, const char* fmt, ...) const
{
	auto* log = static_cast<wLog*>(handle());
	if (!log)
		return;
	char message[1024];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	WLog_PrintMessage(log, WLOG_MESSAGE_TEXT, to_wlog(level), static_cast<size_t>(line), file, func,
	                  "%s", message);
}

} // namespace nlassp::log
