// Test helpers for tests/negotiate: checks run inside plain C++ functions that return bool, so a
// failure reports the expression and line and returns normally (destructors run), and the
// CMocka test body only asserts the result (a CMocka assertion longjmps past destructors).
#pragma once

#include "common/bytes.h"

#include <cstdio>
#include <string>

#define CHECK(expr)                                                                       \
	do {                                                                                  \
		if (!(expr)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
			return false;                                                                 \
		}                                                                                 \
	} while (0)

#define CHECK_EQ_BYTES(a, b)                                                                  \
	do {                                                                                      \
		const auto& check_ra_ = (a);                                                          \
		const auto& check_rb_ = (b);                                                          \
		const ::nlassp::Bytes check_a_(std::begin(check_ra_), std::end(check_ra_));           \
		const ::nlassp::Bytes check_b_(std::begin(check_rb_), std::end(check_rb_));           \
		if (check_a_ != check_b_) {                                                           \
			std::fprintf(stderr, "%s:%d: %s != %s\n  %s\n  %s\n", __FILE__, __LINE__, #a, #b, \
			             ::nlassp::to_hex(check_a_).c_str(), ::nlassp::to_hex(check_b_).c_str()); \
			return false;                                                                     \
		}                                                                                     \
	} while (0)

namespace nlassp::test {

inline Bytes hex(const char* h)
{
	Bytes out;
	if (!from_hex(h, out))
		std::fprintf(stderr, "bad hex literal in test: %s\n", h);
	return out;
}

} // namespace nlassp::test
