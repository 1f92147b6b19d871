# Client for capture.sh: handshake from :40000, (IPv4: send "hello\n"), close; then IPv4 RST from closed port 5001.
import socket, sys, time
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM)
c.bind((sys.argv[2], 40000))
c.connect((sys.argv[1], 5000))
if fam == socket.AF_INET:
    time.sleep(0.2); c.sendall(b"hello\n"); time.sleep(0.2)
c.close()
time.sleep(0.3)
if fam == socket.AF_INET:
    r = socket.socket(fam, socket.SOCK_STREAM)
    r.bind((sys.argv[2], 40001))
    try: r.connect((sys.argv[1], 5001))
    except ConnectionRefusedError: print("refused (RST)")
