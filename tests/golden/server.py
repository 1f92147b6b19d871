# Listener for capture.sh: accept one connection on :5000, read, close.
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5000)); s.listen(8)
print("listening", flush=True)
c, _ = s.accept()
d = c.recv(100)
c.close()          # -> server FIN after client's FIN
s.close()
