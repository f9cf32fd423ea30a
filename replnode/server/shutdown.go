package server

import "strings"

// ---------------------------------------------------------------- shutdown

// shutdownFlags are SHUTDOWN's options (and shutdown-on-sig* words).
type shutdownFlags struct {
	save, nosave, now, force, abort bool
	// explicit: save or nosave was given rather than derived from the
	// save points.
	explicit bool
}

// prepareShutdown is Redis's prepareForShutdown: it decides whether to
// save (explicit SAVE/NOSAVE, else whether save points are configured),
// runs the persistence hook, and refuses to exit when saving fails unless
// FORCE. Runs on the executor; on success the caller closes the server.
func (s *Server) prepareShutdown(f shutdownFlags) error {
	s.Log.Warningf("User requested shutdown...")
	save := len(s.Config.SaveParams()) > 0
	if f.explicit {
		save = f.save && !f.nosave
	}
	if s.Loading {
		// As Redis 7.0: never save while the dataset is still loading, the
		// half-read (or empty) keyspace would replace the good file.
		save = false
	}
	if a := s.aofLayer(); a != nil && a.state == aofWaitRewrite && a.job != nil {
		// The AOF was just turned on and holds nothing yet: exiting now
		// would leave no file with the dataset (prepareForShutdown).
		if !f.force {
			s.Log.Warningf("Writing initial AOF, can't exit.")
			return errShutdownAborted
		}
		s.Log.Warningf("Writing initial AOF. Exit anyway.")
	}
	if s.ShutdownHook != nil {
		if err := s.ShutdownHook(save); err != nil {
			s.Log.Warningf("Error trying to save the DB, can't exit.")
			if !f.force {
				return errShutdownAborted
			}
			s.Log.Warningf("FORCE flag given: exiting anyway.")
		}
	}
	if pidfile := s.Config.String("pidfile"); pidfile != "" {
		s.Log.Noticef("Removing the pid file.")
	}
	if path := s.Config.String("unixsocket"); path != "" {
		s.Log.Noticef("Removing the unix socket file.")
	}
	return nil
}

func splitFields(s string) []string { return strings.Fields(s) }
