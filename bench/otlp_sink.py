"""Stands in for an OpenTelemetry Collector in the benchmarks: answers every OTLP/HTTP export with 200 and an
empty ExportMetricsServiceResponse, and reads nothing else. bench/compare.sh and bench/pair.sh run it as a
script (python3 bench/otlp_sink.py PORT); bench/layout/record-method-order.py imports Sink and serves it on a
thread of its own."""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: otlp_sink.py PORT")
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
