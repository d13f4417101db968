"""An SMTP receiver for the email notifier's test: aiosmtpd with STARTTLS (a fresh
self-signed certificate for 127.0.0.1, written to OUTDIR/cert.pem) and AUTH required.
Each message is written to OUTDIR/message-N.json. Usage: smtp_receiver.py PORT OUTDIR USER PASSWORD
"""
import datetime
import ipaddress
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

port, outdir, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(
        x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        ),
        critical=False,
    )
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    .sign(key, hashes.SHA256())
)
cert_path = os.path.join(outdir, "cert.pem")
key_path = os.path.join(outdir, "key.pem")
with open(key_path, "wb") as f:
    f.write(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
with open(cert_path + ".tmp", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
context.load_cert_chain(cert_path + ".tmp", key_path)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    if ok:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")


class Handler:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf8", errors="replace"),
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }
        path = os.path.join(outdir, "message-%d.json" % Handler.count)
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=port,
    tls_context=context,
    require_starttls=True,
    auth_required=True,
    authenticator=authenticator,
)
controller.start()
os.rename(cert_path + ".tmp", cert_path)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
