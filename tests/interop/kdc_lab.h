// A throwaway MIT KDC for the in-process Kerberos interop tests and the benchmark: the realm
// LAB.TEST made by tests/lab/kdc.sh (kdc_setup) in a temp dir, krb5kdc on 127.0.0.1 only.
//
// kdc_lab_start() exports KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME (FILE:<dir>/user.ccache),
// KRB5_KTNAME and KRB5_CLIENT_KTNAME (files in <dir> that do not exist) into this process, so
// call it before anything uses GSSAPI or krb5 (MIT reads them when a krb5 context is made).
// The KDC is our own child with PR_SET_PDEATHSIG: it dies with the test process even if that
// crashes. Stop it by its pid only.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>

namespace nlassp::interop {

struct KdcLab {
	std::string kdc_sh;   // tests/lab/kdc.sh
	std::string dir;      // temp dir holding everything (removed by kdc_lab_teardown)
	std::string krb5kdc;  // path of the krb5kdc binary
	int port = 0;
	pid_t pid = -1;       // krb5kdc, while running
	bool owns_dir = true; // false when attached to a KDC someone else runs (kdc_lab_attach)

	[[nodiscard]] bool running() const { return pid > 0; }
	[[nodiscard]] std::string keytab() const { return dir + "/termsrv.keytab"; }
	[[nodiscard]] std::string log() const { return dir + "/kdc.log"; }
	[[nodiscard]] std::string krb5_conf() const { return dir + "/krb5.conf"; }
	[[nodiscard]] std::string default_ccache() const { return "FILE:" + dir + "/user.ccache"; }
};

// kdc_setup (kdc.sh) in a new temp dir, the environment above, then the KDC. false (and *why)
// if anything failed; kdc_lab_teardown cleans up what was made either way.
[[nodiscard]] bool kdc_lab_start(KdcLab& lab, const std::string& kdc_sh, std::string* why);

// kdc_lab_start, with `extra` (bash) run in kdc_setup's shell after it and before the KDC starts,
// e.g. ". tests/lab/pkinit.sh && pkinit_setup"; that shell's exported variables are then readable
// with kdc_lab_env.
[[nodiscard]] bool kdc_lab_start_with(KdcLab& lab, const std::string& kdc_sh, const std::string& extra,
                                      std::string* why);
// A variable the setup shell exported (kdc_lab_start_with), "" if none.
std::string kdc_lab_env(const KdcLab& lab, const std::string& name);

// Uses a realm made and a KDC started by someone else (tools/bench/run-bench.sh: kdc.sh's
// $KDC_DIR): reads the port from its krb5.conf and exports the environment; the KDC is not ours
// to stop and the dir not ours to remove.
[[nodiscard]] bool kdc_lab_attach(KdcLab& lab, const std::string& dir, std::string* why);

// Stops our KDC (SIGTERM, then SIGKILL), by pid. The realm stays configured: clients then see
// a refused connection on 127.0.0.1:port.
void kdc_lab_stop_kdc(KdcLab& lab);

// Starts krb5kdc again on the same realm and port; waits until it accepts connections.
[[nodiscard]] bool kdc_lab_start_kdc(KdcLab& lab, std::string* why);

// Stops the KDC and removes the temp dir.
void kdc_lab_teardown(KdcLab& lab);

// TGS_REQ lines of the KDC log naming "for <service>" (e.g. "TERMSRV/localhost@LAB.TEST"):
// kdc.sh's kdc_count_tgs. -1 if the log cannot be read.
int kdc_lab_count_tgs(const KdcLab& lab, const std::string& service);
// Every AS_REQ and TGS_REQ line: kdc.sh's kdc_count_requests.
int kdc_lab_count_requests(const KdcLab& lab);

// kinit user@LAB.TEST with `password` into `ccache` (e.g. "FILE:/tmp/x"); true on success.
[[nodiscard]] bool kdc_lab_kinit(const KdcLab& lab, const std::string& ccache,
                                 const std::string& user = "alice",
                                 const std::string& password = "Passw0rd!");

// One kadmin.local query against the lab's realm (kdc.sh's kdc_kadmin; output appended to the
// lab's setup.log); true when kadmin.local succeeded.
[[nodiscard]] bool kdc_lab_kadmin(const KdcLab& lab, const std::string& query);

// Runs `script` in bash with tests/lab/kdc.sh sourced and the lab's realm selected (KDC_DIR,
// KDC_KEYTAB; KRB5_CONFIG / KRB5_KDC_PROFILE are in the environment already), e.g.
// "kdc_rc4_enable && kdc_rc4_service TERMSRV/localhost \"$KDC_KEYTAB\"". True on exit 0.
[[nodiscard]] bool kdc_lab_run(const KdcLab& lab, const std::string& script);

// Lines of the KDC log that contain every one of `needles` (e.g. {"AS_REQ", "alice@"}); -1 if
// the log cannot be read.
int kdc_lab_count_lines(const KdcLab& lab, std::initializer_list<const char*> needles);

// Removes a FILE: ccache (ignores other types).
void kdc_lab_remove_ccache(const std::string& ccache);

} // namespace nlassp::interop
