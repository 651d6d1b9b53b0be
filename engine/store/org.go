package store

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Org is an organisation: the tenant every other record belongs to.
type Org struct {
	ID        string
	Name      string
	Settings  OrgSettings
	CreatedAt time.Time
}

// OrgSettings are an organisation's tunables. Stored as JSON, so fields can be added freely;
// zero values mean "use the engine's default".
type OrgSettings struct {
	MatchThreshold      float32 `json:"matchThreshold,omitempty"` // 1:1 verification, cosine
	SearchMinimum       float32 `json:"searchMinimum,omitempty"`  // 1:N hits below are dropped
	WatchlistThreshold  float32 `json:"watchlistThreshold,omitempty"`
	LivenessMinimum     float32 `json:"livenessMinimum,omitempty"` // passive liveness score in [0,1]
	KYCBiometricEnabled bool    `json:"kycBiometricEnabled,omitempty"`
	KeepImages          bool    `json:"keepImages,omitempty"`
	WebhookURL          string  `json:"webhookUrl,omitempty"`
	WebhookSecret       string  `json:"webhookSecret,omitempty"` // never log it
}

type orgRecord struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Settings  OrgSettings `json:"settings"`
	CreatedAt time.Time   `json:"createdAt"`
}

// APIKey is an API key as stored: only the SHA-256 of the secret, the organisation it acts for
// and its scopes. The secret itself is shown once at creation and never reaches the store.
type APIKey struct {
	Hash      [32]byte
	OrgID     string
	Scopes    []string
	CreatedAt time.Time
}

type apiKeyRecord struct {
	Org       string    `json:"org"`
	Scopes    []string  `json:"scopes,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// HashAPIKey returns the hash under which an API key secret is stored and looked up.
func HashAPIKey(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// CreateOrg creates organisation org. ErrExists if it exists.
func (s *Store) CreateOrg(org, name string, settings OrgSettings) (Org, error) {
	if err := checkID("org", org); err != nil {
		return Org{}, err
	}
	if err := s.acquire(); err != nil {
		return Org{}, err
	}
	defer s.release()
	rec := orgRecord{ID: org, Name: name, Settings: settings, CreatedAt: time.Now().UTC()}
	val, err := json.Marshal(rec)
	if err != nil {
		return Org{}, fmt.Errorf("store: encode org: %w", err)
	}
	err = s.update(func(txn *badger.Txn) error {
		ok, err := exists(txn, orgKey(org))
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("org %q: %w", org, ErrExists)
		}
		if err := txn.Set(orgKey(org), val); err != nil {
			return err
		}
		return txn.Set(orgDirKey(org), nil)
	})
	if err != nil {
		return Org{}, fmt.Errorf("store: create org: %w", err)
	}
	return rec.org(), nil
}

func (r orgRecord) org() Org {
	return Org{ID: r.ID, Name: r.Name, Settings: r.Settings, CreatedAt: r.CreatedAt}
}

// GetOrg returns organisation org, or ErrNotFound.
func (s *Store) GetOrg(org string) (Org, error) {
	if err := checkID("org", org); err != nil {
		return Org{}, err
	}
	if err := s.acquire(); err != nil {
		return Org{}, err
	}
	defer s.release()
	var rec orgRecord
	err := s.view(func(txn *badger.Txn) error { return getOrg(txn, org, &rec) })
	if err != nil {
		return Org{}, fmt.Errorf("store: get org: %w", err)
	}
	return rec.org(), nil
}

func getOrg(txn *badger.Txn, org string, rec *orgRecord) error {
	v, err := get(txn, orgKey(org))
	if err != nil {
		return fmt.Errorf("org %q: %w", org, err)
	}
	return json.Unmarshal(v, rec)
}

// SetOrgSettings replaces organisation org's settings (and name, when name is not empty).
func (s *Store) SetOrgSettings(org, name string, settings OrgSettings) (Org, error) {
	if err := checkID("org", org); err != nil {
		return Org{}, err
	}
	if err := s.acquire(); err != nil {
		return Org{}, err
	}
	defer s.release()
	var rec orgRecord
	err := s.update(func(txn *badger.Txn) error {
		rec = orgRecord{}
		if err := getOrg(txn, org, &rec); err != nil {
			return err
		}
		if name != "" {
			rec.Name = name
		}
		rec.Settings = settings
		val, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return txn.Set(orgKey(org), val)
	})
	if err != nil {
		return Org{}, fmt.Errorf("store: set org settings: %w", err)
	}
	return rec.org(), nil
}

// ListOrgs returns every organisation, ordered by id. For operators (vigil keys create), not
// for tenants.
func (s *Store) ListOrgs() ([]Org, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	var out []Org
	err := s.view(func(txn *badger.Txn) error {
		prefix := globalKey(gOrgDir)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var rec orgRecord
			if err := getOrg(txn, string(it.Item().Key()[len(prefix):]), &rec); err != nil {
				return err
			}
			out = append(out, rec.org())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list orgs: %w", err)
	}
	return out, nil
}

// CreateAPIKey stores an API key of organisation org by the SHA-256 hash of its secret (see
// HashAPIKey). The organisation must exist; ErrExists if the hash is already stored.
func (s *Store) CreateAPIKey(org string, hash [32]byte, scopes []string) (APIKey, error) {
	if err := checkID("org", org); err != nil {
		return APIKey{}, err
	}
	for _, sc := range scopes {
		if err := checkID("scope", sc); err != nil {
			return APIKey{}, err
		}
	}
	if err := s.acquire(); err != nil {
		return APIKey{}, err
	}
	defer s.release()
	rec := apiKeyRecord{Org: org, Scopes: slices.Clone(scopes), CreatedAt: time.Now().UTC()}
	val, err := json.Marshal(rec)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: encode api key: %w", err)
	}
	err = s.update(func(txn *badger.Txn) error {
		if ok, err := exists(txn, orgKey(org)); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("org %q: %w", org, ErrNotFound)
			}
			return err
		}
		ok, err := exists(txn, apiKeyKey(hash))
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("api key: %w", ErrExists)
		}
		if err := txn.Set(apiKeyKey(hash), val); err != nil {
			return err
		}
		return txn.Set(orgKeyKey(org, hash), nil)
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("store: create api key: %w", err)
	}
	return rec.key(hash), nil
}

func (r apiKeyRecord) key(hash [32]byte) APIKey {
	return APIKey{Hash: hash, OrgID: r.Org, Scopes: r.Scopes, CreatedAt: r.CreatedAt}
}

// LookupAPIKey finds the key stored under hash: this is how a request's organisation is found,
// so unlike every other method it takes no organisation. ErrNotFound if unknown.
func (s *Store) LookupAPIKey(hash [32]byte) (APIKey, error) {
	if err := s.acquire(); err != nil {
		return APIKey{}, err
	}
	defer s.release()
	var rec apiKeyRecord
	err := s.view(func(txn *badger.Txn) error {
		v, err := get(txn, apiKeyKey(hash))
		if err != nil {
			return err
		}
		return json.Unmarshal(v, &rec)
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key: %w", err)
	}
	return rec.key(hash), nil
}

// ListAPIKeys returns organisation org's keys (hashes, scopes), ordered by hash.
func (s *Store) ListAPIKeys(org string) ([]APIKey, error) {
	if err := checkID("org", org); err != nil {
		return nil, err
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	var out []APIKey
	err := s.view(func(txn *badger.Txn) error {
		prefix := orgPrefix(org, tOrgKey, 0)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var hash [32]byte
			copy(hash[:], it.Item().Key()[len(prefix):])
			v, err := get(txn, apiKeyKey(hash))
			if err != nil {
				return err
			}
			var rec apiKeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			out = append(out, rec.key(hash))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	return out, nil
}

// DeleteAPIKey revokes the key stored under hash if it belongs to org; ErrNotFound otherwise.
func (s *Store) DeleteAPIKey(org string, hash [32]byte) error {
	if err := checkID("org", org); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	err := s.update(func(txn *badger.Txn) error {
		ok, err := exists(txn, orgKeyKey(org, hash))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("api key: %w", ErrNotFound)
		}
		if err := txn.Delete(apiKeyKey(hash)); err != nil {
			return err
		}
		return txn.Delete(orgKeyKey(org, hash))
	})
	if err != nil {
		return fmt.Errorf("store: delete api key: %w", err)
	}
	return nil
}
