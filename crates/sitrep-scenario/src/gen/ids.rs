//! The `ids` scenario: an intrusion-detection stream, the shape security tools give a
//! correlation engine. Nothing here was read off a real data set: the shape follows how host
//! IDS (OSSEC/Wazuh-style rules), network IDS (Snort/Suricata-style signatures) and a log
//! anomaly detector report a small company network, and the phases of a textbook intrusion.
//!
//! - **Estate**: 13–18 hosts in three zones (a DMZ of web, mail, VPN and DNS servers; an
//!   internal zone of file share, intranet, database, log and monitoring servers; 4–8
//!   workstations). Events carry the host as `source`, `Detector: rule text` as `check`,
//!   severity `warning` (IDS alerts carry none), and labels `ip` and `rule` (the rule id).
//!   No zone label, no topology edges: the engine has to find what belongs together.
//! - **IDS alerts never clear.** A signature (host × rule) is one alert occurrence for the
//!   whole stream; its repeats are duplicates. What the engine decides at a signature's first
//!   appearance is what is scored.
//! - **Volume**: the routine alerts are a few thousand a day; attacks fire their rules every
//!   few seconds at intensity 1, faster as the requested stream grows (scans and guessers
//!   are what fill real IDS streams).
//! - **Routine alerts (noise)**: each host fires 3–7 rules of its role steadily (mean gaps
//!   from minutes to hours), and runs 0–2 scheduled jobs that fire a fixed set of 2–3 rules
//!   within seconds, every 10–60 min — co-occurring routine alerts, new at their first run.
//!   Rare false positives (a locked account, a segfault, a large ICMP packet) fire once or a
//!   few times on a random host, about every 12 minutes.
//! - **Attacks (faults)**: two campaigns, each from an entry host in the DMZ through up to six
//!   phases (network scan of several hosts, web scan, password guessing, exploit and web
//!   shell, privilege escalation, exfiltration over DNS), 3–90 min apart. Each phase is one
//!   fault: its alerts are new rules on its hosts, firing in a burst for 1–15 minutes. A web
//!   scan trips 8–20 of 33 web signatures on its host, each first reached at its own time in
//!   the first two thirds of the scan (new paths, new payloads), so that new rules keep
//!   starting on the host a minute or two apart while the earlier ones still fire. Some
//!   of their rules are routine elsewhere (failed logins on workstations, web errors on the
//!   other web server), as in real estates.
//! - **People at work** (`gen --people`, off by default): each workstation's user arrives
//!   between 07:30 and 09:30 and leaves between 16:30 and 18:30; at arrival and every 15–60
//!   minutes after, what they do (log in, read mail, open the intranet, copy files to the
//!   share, browse) fires a fixed set of 2–3 rules on their workstation and the servers it
//!   touches within seconds. An administrator works through 2–4 servers a minute or two
//!   apart (log in, sudo, install or change a file), 1–3 rounds a day, from their own
//!   workstation. All of it is false positives to an IDS truth, and all of it is what a
//!   correlation engine finds hardest: benign rules new to several hosts at once in the
//!   morning, and an administrator's rounds that look like lateral movement.
//! - Left out on purpose: estate-wide routine jobs (a patch run on every host at once). Its
//!   alerts form one episode an operator would want grouped, yet an IDS truth calls them
//!   false positives: its score would be arbitrary, as the network scenarios' coinciding
//!   upstream and downstream failures would be.

use super::{next_gap, GenEvent, Label, MIN, SEC, T0};
use crate::topology::Estate;
use crate::truth::FaultTruth;
use rand::seq::SliceRandom;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sitrep_core::config::MaintenanceWindow;
use sitrep_core::time::Millis;
use sitrep_core::{Event, Severity};

const HOURS: i64 = 24;

/// (detector, rule text, rule id)
type Rule = (&'static str, &'static str, &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Web,
    Mail,
    Vpn,
    Dns,
    Share,
    Intranet,
    Db,
    Log,
    Monitor,
    Workstation,
}

const COMMON: &[Rule] = &[
    ("OSSEC", "PAM: Login session opened", "5501"),
    ("OSSEC", "PAM: Login session closed", "5502"),
    ("OSSEC", "Integrity checksum changed", "550"),
    ("OSSEC", "Listened ports status (netstat) changed", "533"),
    ("OSSEC", "Successful sudo to ROOT executed", "5402"),
    ("OSSEC", "sshd: authentication success", "5715"),
    ("OSSEC", "System audit: SSH hardening check failed", "19007"),
    ("Snort", "TLS handshake failure with internal peer", "2230010"),
];

fn role_rules(role: Role) -> &'static [Rule] {
    match role {
        Role::Web => &[
            ("OSSEC", "Web server 400 error code", "31101"),
            ("OSSEC", "Apache: attempt to access forbidden directory", "30306"),
            ("LogAnomaly", "New value in HTTP user agent", "la-ua"),
            (
                "Snort",
                "HTTP request with outdated browser user agent",
                "2013031",
            ),
        ],
        Role::Mail => &[
            ("OSSEC", "Postfix: SMTP relay access denied", "3306"),
            ("OSSEC", "Dovecot: authentication success", "9701"),
            ("OSSEC", "Postfix: sender domain not found", "3304"),
            ("LogAnomaly", "New value in mail client address", "la-mail"),
        ],
        Role::Vpn => &[
            ("OSSEC", "OpenVPN: client connected", "81604"),
            ("OSSEC", "OpenVPN: client disconnected", "81605"),
            ("LogAnomaly", "New value in VPN client address", "la-vpn"),
        ],
        Role::Dns => &[
            ("Snort", "DNS query for a dynamic DNS domain", "2027863"),
            ("OSSEC", "Named: query refused", "12108"),
            ("LogAnomaly", "New value in DNS query name", "la-dns"),
        ],
        Role::Share => &[
            ("Snort", "SMB: anonymous session setup", "2102466"),
            ("OSSEC", "Samba: file access denied", "13102"),
        ],
        Role::Intranet => &[
            ("OSSEC", "Web server 400 error code", "31101"),
            ("OSSEC", "PHP warning in application log", "31410"),
        ],
        Role::Db => &[
            ("OSSEC", "MySQL: authentication failure", "50106"),
            ("OSSEC", "MySQL: slow query logged", "50120"),
        ],
        Role::Log => &[
            ("OSSEC", "Syslog: remote sender not allowed", "2935"),
            ("OSSEC", "Agent event queue is 90% full", "203"),
        ],
        Role::Monitor => &[
            ("Snort", "ICMP echo sweep from monitoring host", "2100469"),
            ("OSSEC", "Nagios: service check failed", "17101"),
        ],
        Role::Workstation => &[
            ("OSSEC", "sshd: authentication failed", "5716"),
            (
                "Snort",
                "TLS connection with a self-signed certificate",
                "2013659",
            ),
            ("Snort", "Outbound connection to a file-sharing site", "2027758"),
            ("LogAnomaly", "New process name observed", "la-proc"),
        ],
    }
}

/// Scheduled jobs: rules a job fires together, within seconds, at every run.
const JOBS: &[&[Rule]] = &[
    &[
        ("OSSEC", "Cron: job started by root", "2832"),
        ("OSSEC", "Backup: archive written", "2901"),
        ("OSSEC", "File added to the system", "554"),
    ],
    &[
        (
            "LogAnomaly",
            "New value in scheduled task command line",
            "la-cron",
        ),
        ("OSSEC", "Successful sudo to ROOT executed", "5402"),
    ],
    &[
        ("OSSEC", "Log rotation: file truncated", "2941"),
        ("OSSEC", "Syslog: service restarted", "2942"),
    ],
    &[
        ("Snort", "Outbound connection to a package repository", "2013504"),
        ("OSSEC", "Package index updated", "2930"),
        ("OSSEC", "Integrity checksum changed", "550"),
    ],
    &[
        ("OSSEC", "Antivirus: signature database updated", "52502"),
        ("OSSEC", "Antivirus: scan started", "52503"),
    ],
];

/// What a user does, as (rules on their own workstation, server role and the rules it fires
/// there). Every rule is fired within seconds of the activity's start.
const ACTIVITIES: &[(&[Rule], Role, &[Rule])] = &[
    (
        &[("OSSEC", "PAM: Login session opened", "5501")],
        Role::Share,
        &[("OSSEC", "Samba: user session opened", "13110")],
    ),
    (
        &[(
            "Snort",
            "TLS connection with a self-signed certificate",
            "2013659",
        )],
        Role::Mail,
        &[
            ("OSSEC", "Dovecot: IMAP login", "9702"),
            ("OSSEC", "Postfix: message queued for delivery", "3310"),
        ],
    ),
    (
        &[(
            "Snort",
            "HTTP request with outdated browser user agent",
            "2013031",
        )],
        Role::Intranet,
        &[
            ("OSSEC", "Web login: user authenticated", "31530"),
            ("OSSEC", "PHP warning in application log", "31410"),
        ],
    ),
    (
        &[("LogAnomaly", "New value in SMB file path", "la-smb")],
        Role::Share,
        &[("OSSEC", "Samba: file access denied", "13102")],
    ),
    (
        &[("Snort", "Outbound connection to a file-sharing site", "2027758")],
        Role::Dns,
        &[("LogAnomaly", "New value in DNS query name", "la-dns")],
    ),
];

/// An administrator's visit to one server.
const ADMIN_VISIT: &[Rule] = &[
    ("OSSEC", "sshd: authentication success", "5715"),
    ("OSSEC", "Successful sudo to ROOT executed", "5402"),
    ("OSSEC", "PAM: Login session opened", "5501"),
];
/// What an administrator may change on a server, one of them per visit at most.
const ADMIN_CHANGES: &[Rule] = &[
    ("OSSEC", "New package installed", "2932"),
    ("OSSEC", "Integrity checksum changed", "550"),
    ("OSSEC", "File added to the system", "554"),
    ("OSSEC", "Syslog: service restarted", "2942"),
];

/// Rare false positives: fire once or a few times on a random host.
const RARE: &[Rule] = &[
    ("OSSEC", "User account locked after failed logins", "5720"),
    ("OSSEC", "Multiple authentication failures", "40111"),
    ("OSSEC", "Kernel: segfault in process", "1008"),
    ("OSSEC", "Disk quota exceeded for user", "1009"),
    ("OSSEC", "Service stopped unexpectedly", "1010"),
    ("OSSEC", "New user account created", "5902"),
    ("Snort", "Large ICMP packet", "2100499"),
    ("Snort", "Executable downloaded over plain HTTP", "2014520"),
    ("Snort", "TLS certificate expired on remote server", "2013660"),
    ("Snort", "Possible port sweep from internal host", "2100478"),
    ("LogAnomaly", "New value in login source address", "la-login"),
    (
        "LogAnomaly",
        "Unusual number of log lines from service",
        "la-rate",
    ),
    ("LogAnomaly", "New value in process command line", "la-cmd"),
    ("OSSEC", "Apache: segmentation fault in child process", "30112"),
];

/// What a web scanner (Nikto, dirb, WPScan) trips on the one host it scans: many
/// signatures, each first reached at its own time in the run.
const WEB_SCAN: &[Rule] = &[
    (
        "OSSEC",
        "Multiple web server 400 errors from same source",
        "31151",
    ),
    ("Snort", "ET SCAN Nikto web scanner user agent", "2002677"),
    ("Snort", "Directory traversal attempt in URI", "2100419"),
    ("LogAnomaly", "Burst of requests to unknown paths", "la-path"),
    ("OSSEC", "Web server 400 error code", "31101"),
    (
        "Snort",
        "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT",
        "2006446",
    ),
    (
        "Snort",
        "ET WEB_SERVER Script tag in URI, Possible Cross Site Scripting Attempt",
        "2009714",
    ),
    (
        "Snort",
        "ET WEB_SERVER Possible XXE SYSTEM ENTITY in POST BODY",
        "2018056",
    ),
    ("Snort", "ET WEB_SERVER /etc/passwd Detected in URI", "2049415"),
    ("Snort", "ET WEB_SERVER PHP tags in HTTP POST", "2011768"),
    (
        "Snort",
        "ET WEB_SERVER WebShell Generic - wget http - POST",
        "2016683",
    ),
    ("Snort", "ET WEB_SERVER Suspicious Chmod Usage in URI", "2016680"),
    (
        "Snort",
        "ET WEB_SERVER ColdFusion administrator access",
        "2016183",
    ),
    (
        "Snort",
        "ET WEB_SPECIFIC_APPS WordPress xmlrpc.php access",
        "2029706",
    ),
    (
        "Snort",
        "ET WEB_SPECIFIC_APPS phpMyAdmin setup.php access",
        "2011150",
    ),
    ("Snort", "ET SCAN Possible Nmap User-Agent Observed", "2024364"),
    (
        "Snort",
        "ET SCAN Suspicious inbound to mySQL port 3306",
        "2010937",
    ),
    (
        "Snort",
        "ET POLICY Outdated Apache version in Server header",
        "2012345",
    ),
    (
        "Snort",
        "ET WEB_SERVER Attempt To Access Program Files Directory",
        "2011127",
    ),
    (
        "Snort",
        "ET WEB_SERVER cmd.exe In URI - Possible Command Execution Attempt",
        "2009361",
    ),
    (
        "Snort",
        "ET WEB_SERVER Possible CVE-2014-6271 Attempt in Headers",
        "2019232",
    ),
    (
        "OSSEC",
        "Apache: Attempt to access forbidden file or directory",
        "30306-f",
    ),
    ("OSSEC", "Web server 500 error code (Internal Error)", "31120"),
    ("OSSEC", "Web server 403 error code (Forbidden)", "31104"),
    ("OSSEC", "Common web attack: SQL injection attempt", "31103"),
    (
        "OSSEC",
        "Common web attack: XSS (Cross Site Scripting) attempt",
        "31105",
    ),
    ("OSSEC", "Web server directory listing attempt", "31110"),
    (
        "OSSEC",
        "URL too long. Higher than allowed on most browsers",
        "31115",
    ),
    ("OSSEC", "Apache: Invalid URI, file name too long", "30117"),
    ("OSSEC", "PHP: Unable to open file in include path", "31411"),
    ("LogAnomaly", "New value in HTTP request method", "la-method"),
    (
        "LogAnomaly",
        "New value in HTTP status code per path",
        "la-status",
    ),
    ("LogAnomaly", "Unusual length of requested URI", "la-urilen"),
];

#[derive(Debug, Clone, Copy)]
enum Phase {
    NetworkScan,
    WebScan,
    PasswordGuessing,
    Exploit,
    PrivilegeEscalation,
    Exfiltration,
}

const PHASES: [Phase; 6] = [
    Phase::NetworkScan,
    Phase::WebScan,
    Phase::PasswordGuessing,
    Phase::Exploit,
    Phase::PrivilegeEscalation,
    Phase::Exfiltration,
];

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::NetworkScan => "network-scan",
            Phase::WebScan => "web-scan",
            Phase::PasswordGuessing => "password-guessing",
            Phase::Exploit => "exploit",
            Phase::PrivilegeEscalation => "privilege-escalation",
            Phase::Exfiltration => "exfiltration",
        }
    }

    /// The rules a phase fires, and how many of them on each of its hosts.
    fn rules(self) -> (&'static [Rule], std::ops::RangeInclusive<usize>) {
        match self {
            Phase::NetworkScan => (
                &[
                    ("Snort", "ET SCAN Nmap SYN scan", "2009582"),
                    ("Snort", "ET SCAN Possible OS fingerprinting attempt", "2100629"),
                    ("Snort", "Inbound connection attempt to closed port", "2100620"),
                ],
                1..=2,
            ),
            Phase::WebScan => (WEB_SCAN, 8..=20),
            Phase::PasswordGuessing => (
                &[
                    ("OSSEC", "sshd: authentication failed", "5716"),
                    ("OSSEC", "sshd: brute force trying to get access", "5712"),
                    ("OSSEC", "Multiple authentication failures", "40111"),
                    ("OSSEC", "PAM: user login failed", "5503"),
                ],
                2..=3,
            ),
            Phase::Exploit => (
                &[
                    ("OSSEC", "Web attack: command injection attempt", "31106"),
                    ("OSSEC", "File added to the web root", "554-web"),
                    ("LogAnomaly", "New process name observed", "la-proc"),
                    ("Snort", "Reverse shell connection outbound", "2025433"),
                    ("Snort", "PHP script upload in POST body", "2016900"),
                ],
                2..=4,
            ),
            Phase::PrivilegeEscalation => (
                &[
                    ("OSSEC", "sudo: user NOT in sudoers", "5401"),
                    ("OSSEC", "User added to a privileged group", "5905"),
                    ("OSSEC", "Setuid binary executed by unprivileged user", "80790"),
                    ("LogAnomaly", "New value in command line of root shell", "la-root"),
                ],
                2..=3,
            ),
            Phase::Exfiltration => (
                &[
                    ("Snort", "Possible DNS tunnel: long query names", "2027770"),
                    ("Snort", "Excessive DNS queries from one host", "2027771"),
                    ("Snort", "Large outbound transfer to external host", "2027772"),
                    ("LogAnomaly", "New value in DNS query length", "la-dnslen"),
                ],
                1..=2,
            ),
        }
    }
}

struct Host {
    node: usize,
    role: Role,
    ip: String,
}

struct IdsBuilder {
    rng: ChaCha8Rng,
    estate: Estate,
    hosts: Vec<Host>,
    events: Vec<GenEvent>,
    seq: u64,
}

impl IdsBuilder {
    fn push(&mut self, host: usize, (detector, text, rule): Rule, time: Millis, label: Label) {
        let h = &self.hosts[host];
        self.seq += 1;
        let mut labels = vec![("ip".into(), h.ip.as_str().into()), ("rule".into(), rule.into())];
        labels.sort();
        self.events.push(GenEvent {
            time,
            seq: self.seq,
            event: Event {
                source: self.estate.nodes[h.node].id.as_str().into(),
                check: format!("{detector}: {text}").into(),
                severity: Severity::Warning,
                description: text.to_string(),
                time: Some(time),
                manager: Some(detector.into()),
                labels,
                id: Some(format!("ev-{}", self.seq).into()),
                ..Event::default()
            },
            label,
        });
    }

    /// One rule firing every few seconds over `span` (a scan's probes, a guesser's tries).
    /// `every` is the mean gap between tries in milliseconds.
    fn burst(&mut self, host: usize, rule: Rule, span: std::ops::Range<Millis>, every: Millis, label: Label) {
        let mut t = span.start;
        while t < span.end {
            self.push(host, rule, t, label);
            t += self.rng.gen_range(every / 2..=every * 3 / 2).max(1);
        }
    }

    /// The users' days and the administrator's rounds (module documentation).
    fn people(&mut self, horizon: Millis) {
        let workstations = self.hosts_of(&[Role::Workstation]);
        for &ws in &workstations {
            let arrive = T0 + self.rng.gen_range(450..570) * MIN + self.rng.gen_range(0..MIN);
            let leave = T0 + self.rng.gen_range(990..1110) * MIN;
            let mut t = arrive;
            let mut first = true;
            while t < leave.min(horizon) {
                // the day starts with a login; then whatever comes next
                let k = if first {
                    0
                } else {
                    self.rng.gen_range(0..ACTIVITIES.len())
                };
                first = false;
                let (own, role, theirs) = ACTIVITIES[k];
                let servers = self.hosts_of(&[role]);
                let server = servers[self.rng.gen_range(0..servers.len())];
                for &rule in own {
                    let at = t + self.rng.gen_range(0..3 * SEC);
                    self.push(ws, rule, at, Label::People);
                }
                for &rule in theirs {
                    let at = t + self.rng.gen_range(0..5 * SEC);
                    self.push(server, rule, at, Label::People);
                }
                let mean = self.rng.gen_range(15..=60) * MIN;
                t += next_gap(&mut self.rng, mean);
            }
        }
        let admin = workstations[self.rng.gen_range(0..workstations.len())];
        let servers: Vec<usize> = (0..self.hosts.len())
            .filter(|&h| self.hosts[h].role != Role::Workstation)
            .collect();
        for _ in 0..self.rng.gen_range(1..=3) {
            let mut t = T0 + self.rng.gen_range(9 * 60..17 * 60) * MIN;
            let mut round = servers.clone();
            round.shuffle(&mut self.rng);
            round.truncate(self.rng.gen_range(2..=4));
            self.push(
                admin,
                ("Snort", "Outbound SSH session to internal server", "2001219"),
                t,
                Label::People,
            );
            for &server in &round {
                for (i, &rule) in ADMIN_VISIT.iter().enumerate() {
                    let at = t + i as Millis * self.rng.gen_range(1..10) * SEC;
                    self.push(server, rule, at, Label::People);
                }
                if self.rng.gen_bool(0.7) {
                    let change = ADMIN_CHANGES[self.rng.gen_range(0..ADMIN_CHANGES.len())];
                    let at = t + self.rng.gen_range(20..90) * SEC;
                    self.push(server, change, at, Label::People);
                }
                t += self.rng.gen_range(60..180) * SEC;
            }
        }
    }

    fn hosts_of(&self, roles: &[Role]) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&h| roles.contains(&self.hosts[h].role))
            .collect()
    }
}

fn estate(rng: &mut ChaCha8Rng) -> (Estate, Vec<Host>) {
    let mut plan: Vec<(String, Role)> = (1..=rng.gen_range(1..=2))
        .map(|w| (format!("web-{w}"), Role::Web))
        .collect();
    plan.extend(
        [("mail", Role::Mail), ("vpn", Role::Vpn), ("dns", Role::Dns)].map(|(n, r)| (n.to_string(), r)),
    );
    let dmz = plan.len();
    plan.extend(
        [
            ("share", Role::Share),
            ("intranet", Role::Intranet),
            ("db", Role::Db),
            ("logs", Role::Log),
            ("monitoring", Role::Monitor),
        ]
        .map(|(n, r)| (n.to_string(), r)),
    );
    let internal = plan.len();
    plan.extend((1..=rng.gen_range(4..=8)).map(|w| (format!("ws-{w:02}"), Role::Workstation)));
    let mut e = Estate::default();
    let hosts = plan
        .into_iter()
        .enumerate()
        .map(|(k, (name, role))| {
            // one subnet per zone: DMZ, servers, workstations
            let ip = if k < dmz {
                format!("172.16.10.{}", 10 + k)
            } else if k < internal {
                format!("10.20.0.{}", 20 + k - dmz)
            } else {
                format!("10.30.0.{}", 101 + k - internal)
            };
            let node = e.add(name, "host", None, &[("ip", ip.clone())]);
            Host { node, role, ip }
        })
        .collect();
    (e, hosts)
}

/// Builds the stream; `intensity` scales how fast an attack's rules fire (the pilot run of
/// [`super::generate_with`] sizes the stream with it): as with real IDS data, a bigger
/// stream is louder attacks — scans and guessers firing many alerts a second — over the
/// same routine alerts, not more rules or more attacks.
pub(super) fn build(
    seed: u64,
    intensity: f64,
    people: bool,
) -> (Estate, Vec<GenEvent>, Vec<FaultTruth>, Vec<MaintenanceWindow>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (estate, hosts) = estate(&mut rng);
    let horizon = T0 + HOURS * 60 * MIN;
    let mut b = IdsBuilder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x1d5),
        estate,
        hosts,
        events: Vec::new(),
        seq: 0,
    };

    // Routine: steady rules per host, each with its own rate (log-uniform mean gap 3 min – 3 h).
    for h in 0..b.hosts.len() {
        let mut rules: Vec<Rule> = COMMON.to_vec();
        rules.extend_from_slice(role_rules(b.hosts[h].role));
        rules.shuffle(&mut b.rng);
        let n = b.rng.gen_range(3..=7).min(rules.len());
        for &rule in &rules[..n] {
            let mean_min = (b.rng.gen_range(3f64.ln()..180f64.ln())).exp();
            let mean = (mean_min * MIN as f64) as Millis;
            let mut t = T0 + next_gap(&mut b.rng, mean);
            while t < horizon {
                b.push(h, rule, t, Label::Chatty);
                t += next_gap(&mut b.rng, mean);
            }
        }
        // scheduled jobs
        for _ in 0..b.rng.gen_range(0..=2) {
            let job = JOBS[b.rng.gen_range(0..JOBS.len())];
            let period = [10, 15, 30, 60][b.rng.gen_range(0..4)] * MIN;
            let mut t = T0 + b.rng.gen_range(0..period);
            while t < horizon {
                for &rule in job {
                    let at = t + b.rng.gen_range(0..4 * SEC);
                    b.push(h, rule, at, Label::Scheduled);
                }
                t += period + b.rng.gen_range(0..2 * SEC);
            }
        }
    }
    // Rare false positives.
    let mut t = T0 + next_gap(&mut b.rng, 12 * MIN);
    while t < horizon {
        let h = b.rng.gen_range(0..b.hosts.len());
        let rule = RARE[b.rng.gen_range(0..RARE.len())];
        for k in 0..b.rng.gen_range(1..=3) {
            let at = t + k * b.rng.gen_range(5..120) * SEC;
            b.push(h, rule, at, Label::OneOff);
        }
        t += next_gap(&mut b.rng, 12 * MIN);
    }

    if people {
        // its own generator, so that the rest of the stream is the same with and without
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e0b1e);
        std::mem::swap(&mut rng, &mut b.rng);
        b.people(horizon);
        std::mem::swap(&mut rng, &mut b.rng);
    }

    // Attacks: two campaigns from different entry hosts.
    let mut entries = b.hosts_of(&[Role::Web, Role::Mail, Role::Vpn]);
    entries.shuffle(&mut b.rng);
    let mut faults = Vec::new();
    let mut start = T0 + b.rng.gen_range(4 * 60..8 * 60) * MIN;
    for &entry in entries.iter().take(2) {
        let mut t = start;
        for (k, phase) in PHASES.into_iter().enumerate() {
            if k > 0 && b.rng.gen_bool(0.15) {
                continue;
            }
            let dur = b.rng.gen_range(1..=15) * MIN;
            let targets: Vec<usize> = match phase {
                Phase::NetworkScan => {
                    let mut all: Vec<usize> = (0..b.hosts.len()).collect();
                    all.shuffle(&mut b.rng);
                    let n = b.rng.gen_range(4..=10).min(all.len());
                    all.truncate(n);
                    // the entry host first: it is the phase's origin in the truth
                    match all.iter().position(|&h| h == entry) {
                        Some(i) => all.swap(0, i),
                        None => all[0] = entry,
                    }
                    all
                }
                Phase::WebScan => {
                    let webs = b.hosts_of(&[Role::Web, Role::Intranet]);
                    if b.hosts[entry].role == Role::Web {
                        vec![entry]
                    } else {
                        vec![webs[b.rng.gen_range(0..webs.len())]]
                    }
                }
                Phase::Exfiltration => {
                    let mut v = vec![entry];
                    v.extend(b.hosts_of(&[Role::Dns]));
                    if b.rng.gen_bool(0.5) {
                        v.extend(b.hosts_of(&[Role::Share]));
                    }
                    v
                }
                _ => vec![entry],
            };
            let id = faults.len() as u32 + 1;
            let (rules, per_host) = phase.rules();
            // a web scanner reaches one rule after another over its run (new paths, new
            // payloads); the other phases' rules start within their first minute
            let spread = matches!(phase, Phase::WebScan);
            for &h in &targets {
                let mut picks: Vec<Rule> = rules.to_vec();
                picks.shuffle(&mut b.rng);
                let n = b.rng.gen_range(per_host.clone()).min(picks.len());
                for &rule in &picks[..n] {
                    let s = if spread {
                        t + b.rng.gen_range(0..dur * 2 / 3)
                    } else {
                        t + b.rng.gen_range(0..60 * SEC)
                    };
                    let e = s + b.rng.gen_range(dur / 3..=dur);
                    let every = (b.rng.gen_range(2..=30) as f64 * SEC as f64 / intensity) as Millis;
                    b.burst(h, rule, s..e, every.max(20), Label::Fault(id));
                }
            }
            faults.push(FaultTruth {
                id,
                kind: phase.name().into(),
                root: b.estate.nodes[b.hosts[targets[0]].node].id.clone(),
                start: t,
                end: t + dur,
                first_event: None,
                alerts: 0,
            });
            t += dur + (b.rng.gen_range(3f64.ln()..90f64.ln()).exp() * MIN as f64) as Millis;
        }
        start = t + b.rng.gen_range(60..240) * MIN;
        if start >= horizon - 2 * 60 * MIN {
            break;
        }
    }
    let IdsBuilder {
        estate, mut events, ..
    } = b;
    events.retain(|e| e.time < horizon);
    events.sort_by_key(|e| (e.time, e.seq));
    (estate, events, faults, Vec::new())
}
