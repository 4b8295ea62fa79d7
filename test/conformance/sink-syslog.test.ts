import { describeSinkConformance } from './sink-conformance';
import { syslogAdapter } from './sink-adapters/syslog';

// RELP is the documented choice for "nothing lost"; RFC 5425 (octet-counted over TLS) passes the same cases
// because its faults here come before any message was written (docs/sinks.md, "syslog and RELP").
describeSinkConformance(syslogAdapter('relp+tls'));
describeSinkConformance(syslogAdapter('syslog+tls'));
