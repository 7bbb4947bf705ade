# fwlib.sh: helpers for the firmware tests (sourced after lib.sh).
# nginx_start ROOT: Debian's nginx serving ROOT on 127.0.0.1:$NGINX_PORT (Range, HEAD), stopped at exit.
MKIPSW="$IDB_TOP/tests/data/mkipsw.py"
MKINDEX="$IDB_TOP/tests/data/mkindex.py"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_start() {
	local root=$1 i
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || skip_all "nginx is not installed (scripts/install-deps)"
	NGINX_PORT=$(free_port)
	mkdir -p "$T/nginx"
	cat >"$T/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
	access_log $T/nginx/access.log;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $root;
		location /device/ { default_type application/json; }
		location /fw/ { limit_rate ${NGINX_RATE:-0}; }
	}
}
CONF
	/usr/sbin/nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" 2>"$T/nginx/stderr" &
	NGINX_PID=$!
	at_exit "kill $NGINX_PID"
	for i in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && return 0
		sleep 0.05
	done
	diag "$T/nginx/stderr"
	return 1
}

# mk_ipsw OUT PRODUCT CPID BDID VERSION BUILD [mkipsw options...]
mk_ipsw() {
	local out=$1 prod=$2 cpid=$3 bdid=$4 ver=$5 build=$6
	shift 6
	python3 "$MKIPSW" "$out" --product "$prod" --cpid "$cpid" --bdid "$bdid" --version "$ver" --build "$build" "$@"
}

# fault_start FILEDIR: tests/fwfault.py on 127.0.0.1:$FAULT_PORT, requests logged to $T/fault.log
fault_start() {
	local i
	python3 "$IDB_TOP/tests/fwfault.py" "$T/fault.port" "$1" "$T/fault.log" 2>"$T/fault.err" &
	FAULT_PID=$!
	at_exit "kill $FAULT_PID"
	for i in $(seq 1 100); do
		[ -s "$T/fault.port" ] && { FAULT_PORT=$(cat "$T/fault.port"); return 0; }
		sleep 0.05
	done
	return 1
}
