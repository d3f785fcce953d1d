;;; driver.el --- Let a test drive a batch Emacs with chorus.el  -*- lexical-binding: t; -*-

;;; Commentary:

;; Loaded by test/emacs/support.ts into `emacs --batch'.  Loads chorus.el from clients/emacs,
;; turns on `global-chorus-mode', then serves Elisp forms on the Unix socket named by
;; CHORUS_EMACS_SOCKET: one JSON object per line, {"id": N, "form": "(...)"}, answered with
;; {"id": N, "value": ...} or {"id": N, "error": "..."}.  Between requests Emacs waits in
;; `accept-process-output', so timers and the daemon's messages run as in an interactive Emacs.
;; Forms never wait themselves: the test polls.

;;; Code:

(if (getenv "CHORUS_EMACS_INIT")
    ;; Another way in than the package (the README's eglot setup): that init file, as a person's.
    (progn (setq make-backup-files nil)
           (load (getenv "CHORUS_EMACS_INIT") nil t))
  (require 'chorus)
  (setq chorus-program (getenv "CHORUS_TEST_NODE")
        chorus-program-args (list (getenv "CHORUS_TEST_CLI"))
        chorus-reconnect-min-delay 0.1
        chorus-reconnect-max-delay 1.0
        make-backup-files nil)
  (global-chorus-mode 1))

(defvar chorus-driver-questions nil "Questions Emacs asked the person (a batch Emacs cannot answer them), newest first.")

(defun chorus-driver--question (prompt &rest _)
  "Record PROMPT; a batch Emacs has no one to answer it."
  (push prompt chorus-driver-questions)
  (error "Asked the person: %s" prompt))
(when (getenv "CHORUS_EMACS_INIT")
  (advice-add 'yes-or-no-p :override #'chorus-driver--question)
  (advice-add 'y-or-n-p :override #'chorus-driver--question)
  (advice-add 'read-char-choice :override #'chorus-driver--question))

(defvar chorus-driver-messages nil "Messages shown, newest first.")

(defun chorus-driver--record (format-string &rest args)
  "Record the message FORMAT-STRING with ARGS (batch Emacs keeps no *Messages*)."
  (when (and format-string (not inhibit-message))
    (push (apply #'format-message format-string args) chorus-driver-messages)))
(advice-add 'message :before #'chorus-driver--record)

(defun chorus-driver--json (value)
  "VALUE as something `json-serialize' accepts."
  (cond ((null value) :null)
        ((eq value t) t)
        ((or (stringp value) (numberp value)) value)
        ((keywordp value) (substring (symbol-name value) 1))
        ((symbolp value) (symbol-name value))
        ((and (consp value) (keywordp (car value)) (proper-list-p value) (cl-evenp (length value)))
         (let (out)
           (while value
             (push (car value) out)
             (push (chorus-driver--json (cadr value)) out)
             (setq value (cddr value)))
           (nreverse out)))
        ((proper-list-p value) (vconcat (mapcar #'chorus-driver--json value)))
        ((vectorp value) (vconcat (mapcar #'chorus-driver--json value)))
        (t (format "%S" value))))

(defun chorus-driver--filter (proc string)
  "Evaluate each complete request line from PROC (with STRING appended)."
  (let ((pending (concat (or (process-get proc 'pending) "") string)) nl)
    (while (setq nl (string-search "\n" pending))
      (let* ((line (substring pending 0 nl))
             (request (json-parse-string line :object-type 'plist))
             (id (plist-get request :id))
             (reply (condition-case err
                        (list :id id :value
                              (chorus-driver--json
                               ;; As a command would: in the selected window's buffer.
                               (with-current-buffer (window-buffer (selected-window))
                                 (eval (car (read-from-string (plist-get request :form))) t))))
                      (error (list :id id :error (error-message-string err))))))
        (setq pending (substring pending (1+ nl)))
        (process-put proc 'pending pending)
        (process-send-string proc (concat (json-serialize reply) "\n"))))
    (process-put proc 'pending pending)))

(defvar chorus-driver--last-input (current-time)
  "When the test last typed or ran a command (not a query): Emacs has been idle since.")

(defmacro chorus-driver-command (&rest body)
  "Run BODY as an interactive command would: then `post-command-hook' runs."
  `(prog1 (progn (setq chorus-driver--last-input (current-time)) ,@body) (undo-boundary) (run-hooks 'post-command-hook)))

(defun chorus-driver-visit (file)
  "Visit FILE in the selected window, as `find-file' does."
  (chorus-driver-command (switch-to-buffer (find-file-noselect file)))
  (buffer-name))

(defun chorus-driver-type (keys)
  "Type KEYS (a `kbd' string) through the command loop."
  (setq chorus-driver--last-input (current-time))
  (execute-kbd-macro (kbd keys))
  t)

(defvar chorus-driver-burst-left 0 "Keys of the running burst not yet typed.")

(defun chorus-driver-burst (keys interval)
  "Type the `kbd' strings in KEYS (a list) one every INTERVAL seconds, from a timer.
Returns at once; `chorus-driver-burst-left' counts down to 0."
  (setq chorus-driver-burst-left (length keys))
  (let ((buffer (current-buffer)) (timer nil))
    (setq timer
          (run-at-time
           0 interval
           (lambda ()
             (if (null keys) (cancel-timer timer)
               (with-current-buffer buffer
                 (setq chorus-driver--last-input (current-time))
                 (execute-kbd-macro (kbd (pop keys))))
               (setq chorus-driver-burst-left (length keys))))))
    t))

(defun chorus-driver--run-idle-timers ()
  "Run the one-shot idle timers whose idle time has passed, as an Emacs waiting for keys would.
A batch Emacs is never idle, so they never ran: eglot sends a buffer's changes to its server from
one (`eglot-send-changes-idle-time'), and none reached it.  The package sends its own at once."
  (let ((idle (time-since chorus-driver--last-input)))
    (dolist (timer (copy-sequence timer-idle-list))
      (when (and (not (timer--repeat-delay timer)) (time-less-p (timer--time timer) idle))
        (timer-event-handler timer)))))

(let* ((path (getenv "CHORUS_EMACS_SOCKET")))
  (make-network-process :name "chorus-driver" :server t :family 'local :service path
                        :coding 'utf-8-unix :noquery t
                        :filter #'chorus-driver--filter)
  (princ "READY\n" #'external-debugging-output)
  (while t
    (accept-process-output nil 0.05)
    (when (getenv "CHORUS_EMACS_INIT") (chorus-driver--run-idle-timers))))

;;; driver.el ends here
