// The known-answer files in tests/vectors: each parses, every value in them carries the spec
// section it comes from (its own "section" or an enclosing object's), and the reader refuses a
// value without one, a missing path and a missing file (printing which).
#include "support/vectors.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
extern "C" {
#include <cmocka.h>
}
// clang-format on

using namespace nlassp;

namespace {

constexpr const char* kFiles[] = {"ms-nlmp.json", "ms-cssp.json", "spnego.json"};

// Every scalar below `node` has a section on its way from the root; prints the first that has not.
bool sections_everywhere(const nlohmann::json& node, const std::string& path, bool have_section)
{
	if (node.is_object()) {
		const bool here = have_section || (node.contains("section") && node["section"].is_string() &&
		                                   !node["section"].get<std::string>().empty());
		for (auto it = node.begin(); it != node.end(); ++it)
			if (!sections_everywhere(it.value(), path.empty() ? it.key() : path + "." + it.key(), here))
				return false;
		return true;
	}
	if (node.is_array()) {
		for (size_t i = 0; i < node.size(); ++i)
			if (!sections_everywhere(node[i], path + "." + std::to_string(i), have_section))
				return false;
		return true;
	}
	// Top-level descriptions (spec, source, ...) are about the file, not values.
	if (have_section || path.find('.') == std::string::npos)
		return true;
	std::fprintf(stderr, "%s carries no section\n", path.c_str());
	return false;
}

bool every_value_has_a_section()
{
	for (const char* f : kFiles) {
		std::ifstream in(test::vectors_dir() + "/" + f);
		const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
		if (doc.is_discarded() || !doc.is_object()) {
			std::fprintf(stderr, "%s: not a JSON object\n", f);
			return false;
		}
		if (!sections_everywhere(doc, "", false)) {
			std::fprintf(stderr, "in %s\n", f);
			return false;
		}
	}
	return true;
}

bool sections_are_reported()
{
	return test::vector_section("ms-nlmp.json", "ntlmv2.NTOWFv2") == "MS-NLMP 4.2.4.1.1" &&
	       test::vector_section("ms-nlmp.json", "common.User") == "MS-NLMP 4.2.1" &&
	       test::vector_section("ms-cssp.json", "der.2.fields.errorCode").rfind("MS-CSSP 2.2.1", 0) == 0 &&
	       test::vector_section("spnego.json", "tokens.0.hex").rfind("RFC 4178", 0) == 0;
}

bool refusals()
{
	Bytes b;
	std::string s;
	long long n = 0;
	return !test::vector_hex("ms-nlmp.json", "ntlmv2.NoSuchValue", b) &&     // missing path
	       !test::vector_hex("no-such-file.json", "a.b", b) &&               // missing file
	       !test::vector_int("ms-nlmp.json", "common.User", n) &&            // wrong type
	       !test::vector_string("ms-nlmp.json", "spec", s) &&                // no section
	       test::vector_count("ms-cssp.json", "der") == 5 &&
	       test::vector_count("ms-cssp.json", "der.9") == -1;
}

} // namespace

static void test_every_value_has_a_section(void**) { assert_true(every_value_has_a_section()); }
static void test_sections_are_reported(void**) { assert_true(sections_are_reported()); }
static void test_refusals(void**) { assert_true(refusals()); }

int main()
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_value_has_a_section),
	    cmocka_unit_test(test_sections_are_reported),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests_name("known-answer vector files", tests, nullptr, nullptr);
}
