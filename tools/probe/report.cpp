// nlassp-probe's report: a few aligned lines, or one JSON object (--json).
#include "probe.h"

#include <cinttypes>
#include <cstdio>

namespace nlassp::probe {

namespace {

std::string json_escape(const std::string& s)
{
	std::string o;
	for (unsigned char c : s) {
		switch (c) {
		case '"': o += "\\\""; break;
		case '\\': o += "\\\\"; break;
		case '\n': o += "\\n"; break;
		case '\t': o += "\\t"; break;
		default:
			if (c < 0x20) {
				char b[8];
				std::snprintf(b, sizeof(b), "\\u%04x", c);
				o += b;
			} else {
				o += static_cast<char>(c);
			}
		}
	}
	return o;
}

} // namespace

void print_report(const Report& r, bool json)
{
	double total = 0;
	for (const auto& p : r.phases)
		total += p.ms;
	if (json) {
		std::printf("{\"host\":\"%s\",\"port\":\"%s\",\"success\":%s,\"refused\":%s,\"refused_by\":\"%s\","
		            "\"stage\":\"%s\","
		            "\"protocol\":\"%s\",\"credssp_version\":%" PRIu32 ",\"server_credssp_version\":%" PRIu32 ","
		            "\"mechanism\":\"%s\",\"status\":\"%s\",\"status_code\":\"0x%08" PRIX32 "\",\"error\":\"%s\","
		            "\"reason\":\"%s\",\"tls\":\"%s\",\"cipher\":\"%s\",\"delegated\":%s,\"delegation\":\"%s\","
		            "\"remote_guard\":%s,\"freerdp_echo_defect_tolerated\":%s,\"insecure_credssp_version\":%s,"
		            "\"via\":\"%s\",\"phases_ms\":{",
		            json_escape(r.host).c_str(), json_escape(r.port).c_str(), r.success ? "true" : "false",
		            r.refused ? "true" : "false", r.refused_by.c_str(), r.stage.c_str(), r.protocol.c_str(),
		            r.credssp_version,
		            r.server_version, r.mechanism.c_str(), r.status.c_str(), r.status_value, r.error.c_str(),
		            json_escape(r.reason).c_str(), r.tls_version.c_str(), r.tls_cipher.c_str(),
		            r.delegated ? "true" : "false", json_escape(r.success ? r.delegation : std::string()).c_str(),
		            r.remote_guard ? "true" : "false", r.echo_defect_tolerated ? "true" : "false",
		            r.insecure_version ? "true" : "false", json_escape(r.via).c_str());
		for (size_t i = 0; i < r.phases.size(); ++i)
			std::printf("%s\"%s\":%.3f", i ? "," : "", r.phases[i].name, r.phases[i].ms);
		std::printf("},\"total_ms\":%.3f}\n", total);
		return;
	}
	std::printf("nlassp-probe %s:%s\n", r.host.c_str(), r.port.c_str());
	if (!r.protocol.empty())
		std::printf("  protocol    %s\n", r.protocol.c_str());
	if (!r.tls_version.empty())
		std::printf("  tls         %s %s\n", r.tls_version.c_str(), r.tls_cipher.c_str());
	if (r.credssp_version)
		std::printf("  credssp     version %" PRIu32 " (server offers %" PRIu32 ")%s\n", r.credssp_version,
		            r.server_version, r.insecure_version ? "  INSECURE: below 5 (CVE-2018-0886)" : "");
	if (!r.mechanism.empty())
		std::printf("  mechanism   %s (CREDSSP %s)\n", r.mechanism.c_str(), r.via.c_str());
	const std::string verdict = r.success ? "success"
	                            : r.refused ? "refused" + (r.refused_by == "kdc" ? std::string(" by the KDC")
	                                                                             : std::string(" by the server"))
	                                        : "failed";
	std::printf("  outcome     %s%s%s (0x%08" PRIX32 ")\n", verdict.c_str(), r.status.empty() ? "" : "  ",
	            r.status.c_str(), r.status_value);
	std::printf("  reason      %s\n", r.reason.c_str());
	if (r.success)
		std::printf("  delegated   %s%s\n", r.delegation.c_str(),
		            r.echo_defect_tolerated ? "  [FreeRDP v2-4 echo defect tolerated]" : "");
	std::printf("  time        ");
	for (const auto& p : r.phases)
		std::printf("%s %.1f ms, ", p.name, p.ms);
	std::printf("total %.1f ms\n", total);
}

} // namespace nlassp::probe
