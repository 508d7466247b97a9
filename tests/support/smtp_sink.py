"""A real SMTP server for tests: aiosmtpd on 127.0.0.1:PORT writing each
received message to OUT_DIR as JSON (envelope, parsed headers, decoded body,
attachment names). Touches READY_FILE once listening; stops on SIGTERM."""
import email
import email.policy
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "body": body.get_content() if body is not None else "",
            "attachments": [p.get_filename() for p in msg.iter_attachments()],
        }
        with self.lock:
            self.count += 1
            n = self.count
        tmp = os.path.join(self.out_dir, ".%04d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out_dir, "%04d.json" % n))
        return "250 OK"


def main():
    port, out_dir, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    controller = Controller(Handler(out_dir), hostname="127.0.0.1", port=port)
    controller.start()
    with open(ready, "w") as f:
        f.write("ready")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
