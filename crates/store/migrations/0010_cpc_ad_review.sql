-- An ad added to a campaign that already passed review waits for its own review before it
-- serves (docs/hardening.md, L6): otherwise an approved campaign would carry any new product,
-- title or landing page unchecked. Ads of a campaign still in review are reviewed with it.
ALTER TABLE cpc_ads ADD COLUMN review_state TEXT NOT NULL DEFAULT 'approved'
    CHECK (review_state IN ('review', 'approved', 'rejected'));
ALTER TABLE cpc_ads ADD COLUMN review_reason TEXT;
